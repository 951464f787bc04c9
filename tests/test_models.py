"""Encoders by name, the frame head, fine-tuning: one forward test over every registered encoder."""

import keras
import numpy as np
import pytest

from conftest import MOVENET
from toolkit.models import MODEL_NAMES, PIXEL_ENCODERS, UnknownModelError, build_encoder, build_frame_head, encoder_info
from toolkit.models.efficientnet import WeightsUnavailableError
from toolkit.models.frame_head import build_frame_classifier
from toolkit.training.fine_tuning import count_trainable_weights, set_top_layers_trainable

ENCODERS = list(MODEL_NAMES) + ["movenet_lightning+efficientnet_lite0"]


def _build(name, size=64):
    info = encoder_info(name, size)
    if info.pose and not (MOVENET / "movenet-lightning.json").is_file():
        pytest.skip("MoveNet models absent from ../shared/models")
    weights = "imagenet" if info.pose and info.pixel else None
    return info, build_encoder(name, size, weights, MOVENET)


@pytest.mark.parametrize("model_name", ENCODERS)
def test_forward_every_registered_encoder(model_name):
    info, encoder = _build(model_name)
    shape = (2, 64, 64, 3) if info.frame_size else (2, 90, 120, 3)  # pose encoders take any shape
    frames = np.random.default_rng(0).integers(0, 256, shape).astype("uint8")
    features = keras.ops.convert_to_numpy(encoder(frames))
    expected = {"custom_cnn": 256, "movenet_lightning": 64, "movenet_thunder": 64}.get(model_name, 1280)
    if info.pose and info.pixel:
        expected = 64 + 1280
    assert features.shape == (2, expected) and np.isfinite(features).all()
    head = build_frame_head(expected, 5, exclude=info.frame_head_exclude)
    probabilities = keras.ops.convert_to_numpy(build_frame_classifier(encoder, head)(frames))
    assert probabilities.shape == (2, 5)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("model_name", sorted(PIXEL_ENCODERS))
def test_saved_and_loaded_encoder_predicts_identically(model_name, tmp_path):
    encoder = build_encoder(model_name, 48, None)
    frames = np.random.default_rng(1).integers(0, 256, (3, 48, 48, 3)).astype("float32")
    expected = keras.ops.convert_to_numpy(encoder(frames))
    encoder.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(frames)), expected, rtol=1e-5, atol=1e-6)


def test_custom_cnn_takes_any_input_size_and_imagenet_means_from_scratch():
    encoder = build_encoder("custom_cnn", 64, "imagenet")  # "imagenet": pretrained where the model has weights
    for size in (48, 97):
        assert encoder(np.zeros((1, size, size, 3), "float32")).shape == (1, 256)


def test_unknown_model_name_lists_choices():
    with pytest.raises(UnknownModelError, match=r"model_name='resnet'.*\['efficientnet_b0', 'efficientnet_lite0', "
                                                r"'custom_cnn', 'movenet_lightning', 'movenet_thunder'\]"):
        build_encoder("resnet")


def test_frame_head_skips_the_pose_geometry():
    head = build_frame_head(64, 3, exclude=(60, 64))
    base = np.random.default_rng(0).normal(size=(4, 64)).astype("float32")
    moved = base.copy()
    moved[:, 60:] += 5.0  # where the body stands in the frame must not change the verdict
    np.testing.assert_allclose(keras.ops.convert_to_numpy(head(base)), keras.ops.convert_to_numpy(head(moved)),
                               rtol=1e-6)


def test_imagenet_weights_unavailable_gives_actionable_error(monkeypatch, tmp_path):
    # Point Keras at an empty cache and make the download fail as it does offline.
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: [Errno -2] Name or service not known")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    monkeypatch.setattr("keras.src.applications.efficientnet.file_utils.get_file", offline)
    with pytest.raises(WeightsUnavailableError) as info:
        build_encoder("efficientnet_b0", 64, "imagenet")
    message = str(info.value)
    assert "efficientnetb0_notop.h5" in message
    assert str(tmp_path) in message  # names the cache folder to copy the file into
    assert "weights = None" in message and "efficientnet_lite0" in message


def test_unreadable_weights_file_is_reported(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not weights")
    with pytest.raises(WeightsUnavailableError, match="bad.h5"):
        build_encoder("efficientnet_b0", 64, str(bad))


@pytest.mark.parametrize("model_name", ["efficientnet_b0", "efficientnet_lite0"])
def test_fine_tuning_unfreezes_top_layers_but_never_batchnorm(model_name):
    encoder = build_encoder(model_name, 64, None)
    encoder.trainable = False
    assert count_trainable_weights(encoder) == 0
    set_top_layers_trainable(encoder, 20)
    top = encoder.layers[-20:]
    expected = sum(int(np.prod(w.shape)) for layer in top if not isinstance(layer, keras.layers.BatchNormalization)
                   for w in layer.trainable_weights)
    assert 0 < count_trainable_weights(encoder) == expected < 0.5 * encoder.count_params()
    batch_norms = [l for l in encoder.layers if isinstance(l, keras.layers.BatchNormalization)]
    assert batch_norms and not any(l.trainable for l in batch_norms)
    assert not any(l.trainable for l in encoder.layers[:-20] if l.weights)


def test_frozen_batch_norm_statistics_do_not_move_in_fit():
    encoder = build_encoder("efficientnet_lite0", 32, None)
    set_top_layers_trainable(encoder, 30)
    model = build_frame_classifier(encoder, build_frame_head(1280, 2))
    model.compile("adam", "sparse_categorical_crossentropy")
    bn = [l for l in encoder.layers if isinstance(l, keras.layers.BatchNormalization)][-1]
    before = [np.array(w) for w in bn.weights]
    x = np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3)).astype("float32")
    model.fit(x, np.array([0, 1] * 4), epochs=1, verbose=0)
    for a, b in zip(before, bn.weights):
        np.testing.assert_array_equal(a, np.array(b))
