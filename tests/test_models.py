import keras
import numpy as np
import pytest

from toolkit.models import FRAME_MODELS, build_frame_classifier, get_feature_extractor
from toolkit.models.efficientnet import WeightsUnavailableError
from toolkit.training.fine_tuning import count_trainable_weights, freeze_backbone, unfreeze_top_layers


@pytest.mark.parametrize("model_name", sorted(FRAME_MODELS))
def test_forward_every_registered_model(model_name):
    model = build_frame_classifier(model_name, num_classes=5, image_size=64, weights=None)
    images = np.random.default_rng(0).integers(0, 256, (2, 64, 64, 3)).astype("float32")
    probabilities = keras.ops.convert_to_numpy(model(images))
    assert probabilities.shape == (2, 5)
    assert np.isfinite(probabilities).all()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    features = get_feature_extractor(model)
    assert features.output_shape[-1] in (256, 1280)


@pytest.mark.parametrize("model_name", sorted(FRAME_MODELS))
def test_saved_and_loaded_model_predicts_identically(model_name, tmp_path):
    model = build_frame_classifier(model_name, num_classes=3, image_size=48, weights=None)
    images = np.random.default_rng(1).integers(0, 256, (3, 48, 48, 3)).astype("float32")
    expected = model.predict(images, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(images, verbose=0), expected, rtol=1e-5, atol=1e-6)
    assert get_feature_extractor(loaded).name == "features"


def test_custom_cnn_takes_any_input_size():
    model = build_frame_classifier("custom_cnn", num_classes=2, image_size=64, weights=None)
    for size in (48, 97):
        assert model(np.zeros((1, size, size, 3), "float32")).shape == (1, 2)


def test_unknown_model_name_lists_choices():
    with pytest.raises(ValueError, match=r"model_name='resnet'.*\['efficientnet_b0', 'efficientnet_lite0', 'custom_cnn', 'movenet_lightning'"):
        build_frame_classifier("resnet", num_classes=3)


def test_imagenet_weights_unavailable_gives_actionable_error(monkeypatch, tmp_path):
    # Point Keras at an empty cache and make the download fail as it does offline.
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: [Errno -2] Name or service not known")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    monkeypatch.setattr("keras.src.applications.efficientnet.file_utils.get_file", offline)
    with pytest.raises(WeightsUnavailableError) as info:
        build_frame_classifier("efficientnet_b0", num_classes=3, image_size=64, weights="imagenet")
    message = str(info.value)
    assert "efficientnetb0_notop.h5" in message
    assert str(tmp_path) in message  # names the cache folder to copy the file into
    assert "weights = None" in message


def test_imagenet_on_model_without_pretrained_weights_starts_from_scratch():
    # "imagenet" means the pretrained weights where a model has them.
    model = build_frame_classifier("custom_cnn", num_classes=3, weights="imagenet")
    assert model.output_shape == (None, 3)


def test_unreadable_weights_file_is_reported(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not weights")
    with pytest.raises(WeightsUnavailableError, match="bad.h5"):
        build_frame_classifier("efficientnet_b0", num_classes=3, image_size=64, weights=str(bad))


def test_two_stage_fine_tuning_freezes_what_it_claims():
    model = build_frame_classifier("efficientnet_b0", num_classes=4, image_size=64, weights=None)
    features = get_feature_extractor(model)
    head = sum(int(np.prod(w.shape)) for w in model.get_layer("predictions").weights)

    freeze_backbone(model)
    assert count_trainable_weights(model) == head
    assert not any(layer.trainable for layer in features.layers if layer.weights)

    unfreeze_top_layers(model, num_layers=20)
    top = features.layers[-20:]
    expected = head + sum(int(np.prod(w.shape)) for layer in top
                          if not isinstance(layer, keras.layers.BatchNormalization)
                          for w in layer.trainable_weights)
    assert count_trainable_weights(model) == expected
    assert head < count_trainable_weights(model) < 0.5 * model.count_params()
    batch_norms = [l for l in features.layers if isinstance(l, keras.layers.BatchNormalization)]
    assert batch_norms and not any(l.trainable for l in batch_norms)
    assert not any(l.trainable for l in features.layers[:-20] if l.weights)


def test_frozen_batch_norm_statistics_do_not_move_in_fit():
    model = build_frame_classifier("efficientnet_b0", num_classes=2, image_size=32, weights=None)
    unfreeze_top_layers(model, num_layers=30)
    model.compile("adam", "sparse_categorical_crossentropy")
    features = get_feature_extractor(model)
    bn = [l for l in features.layers if isinstance(l, keras.layers.BatchNormalization)][-1]
    before = [np.array(w) for w in bn.weights]
    x = np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3)).astype("float32")
    model.fit(x, np.array([0, 1] * 4), epochs=1, verbose=0)
    for a, b in zip(before, bn.weights):
        np.testing.assert_array_equal(a, np.array(b))
