import keras
import numpy as np
import pytest

from toolkit.data.frames import extract_frames
from toolkit.data.manifest import read_manifest
from toolkit.data.synthetic import TEMPORAL_PAIR, SyntheticConfig, generate_dataset
from toolkit.evaluation.evaluate import pool_by_video
from toolkit.models import build_frame_classifier, get_feature_extractor
from toolkit.models.heads import attach_classifier_head
from toolkit.temporal import FramewiseApply, VotePooling, build_vote_classifier
from toolkit.temporal.lstm import (FeatureCache, build_lstm_video_classifier, build_sequence_head,
                                   extract_clip_features)
from toolkit.training.video_trainer import train_sequence_head


class FixedFrames(keras.layers.Layer):
    """A stand-in frame classifier whose output is the input's first K channels of pixel (0, 0)."""

    def call(self, x):
        return x[:, 0, 0, :3]


def _frame_model_with_known_outputs():
    inputs = keras.Input((4, 4, 3))
    return keras.Model(inputs, FixedFrames()(inputs))


# Case A: three frames lean to class 0, one frame is sure of class 1.
CASE_A = [[0.40, 0.35, 0.25]] * 3 + [[0.0, 1.0, 0.0]]
# Case B: one frame is sure of class 0, three frames lean to class 1.
CASE_B = [[1.0, 0.0, 0.0]] + [[0.10, 0.55, 0.35]] * 3


@pytest.mark.parametrize("probs, method, expected", [
    (CASE_A, "majority", 0), (CASE_A, "mean", 1), (CASE_A, "confidence", 1),
    (CASE_B, "majority", 1), (CASE_B, "mean", 1), (CASE_B, "confidence", 0),
])
def test_vote_pooling_over_known_frame_outputs(probs, method, expected):
    probs = np.array(probs, dtype="float32")
    clip = np.zeros((1, 5, 4, 4, 3), dtype="float32")
    clip[0, :4, 0, 0, :] = probs
    clip[0, :4, 1, 1, :] = 1.0  # non-zero content: a real frame
    # Frame 5 is padding (all zeros): were it counted, it would vote class 0.
    model = build_vote_classifier(_frame_model_with_known_outputs(), 5, 4, method)
    pooled = keras.ops.convert_to_numpy(model(clip))[0]
    assert int(np.argmax(pooled)) == expected
    np.testing.assert_allclose(pooled.sum(), 1.0, rtol=1e-5)
    if method == "mean":
        np.testing.assert_allclose(pooled, probs.mean(axis=0), rtol=1e-5)


def test_vote_classifier_saves_and_loads(tmp_path):
    frame_model = build_frame_classifier("custom_cnn", 3, 32, None)
    model = build_vote_classifier(frame_model, 4, 32, "majority")
    clips = np.random.default_rng(0).integers(0, 255, (2, 4, 32, 32, 3)).astype("float32")
    model.save(tmp_path / "v.keras")
    loaded = keras.models.load_model(tmp_path / "v.keras")
    np.testing.assert_allclose(loaded.predict(clips, verbose=0), model.predict(clips, verbose=0), rtol=1e-5)


def test_framewise_apply_keeps_frozen_batchnorm_in_inference_mode():
    frame_model = build_frame_classifier("custom_cnn", 3, 32, None)
    features = get_feature_extractor(frame_model)
    features.trainable = False
    wrapped = keras.Sequential([keras.Input((3, 32, 32, 3)), FramewiseApply(features)])
    clips = np.random.default_rng(1).integers(0, 255, (2, 3, 32, 32, 3)).astype("float32")
    bn = [l for l in features.layers if isinstance(l, keras.layers.BatchNormalization)][0]
    before = np.array(bn.moving_mean)
    in_training = keras.ops.convert_to_numpy(wrapped(clips, training=True))
    in_inference = keras.ops.convert_to_numpy(wrapped(clips, training=False))
    np.testing.assert_allclose(in_training, in_inference, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(before, np.array(bn.moving_mean))
    # Unfrozen, the same call would use batch statistics: the test can fail.
    features.trainable = True
    unfrozen = keras.ops.convert_to_numpy(wrapped(clips, training=True))
    assert not np.allclose(unfrozen, in_inference, atol=1e-4)


def _pixel_features(size=64):
    """A fixed, pose-sensitive frame encoder: the central crop at 16 x 16 grey values."""
    inputs = keras.Input((size, size, 3))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.CenterCrop(40, 40)(x)
    x = keras.layers.Resizing(16, 16, interpolation="area")(x)
    x = keras.layers.Lambda(lambda t: keras.ops.mean(t, axis=-1))(x)
    return keras.Model(inputs, keras.layers.Flatten()(x), name="features")


@pytest.fixture(scope="module")
def temporal_pair(tmp_path_factory):
    out = tmp_path_factory.mktemp("pair")
    config = SyntheticConfig(classes=TEMPORAL_PAIR, videos_per_class=32, num_performers=1, reps_range=(1, 2),
                             rep_seconds_range=(2.0, 3.0), max_duration_s=6.0, fps_choices=(12,),
                             resolutions=((96, 96),), vary_scene=False, seed=11)
    generate_dataset(out / "videos", config, num_workers=2, progress=False)
    extract_frames(out / "videos", out / "frames", num_frames=16, size=64, progress=False)
    return read_manifest(out / "frames"), out


def test_lstm_separates_temporal_pair_where_voting_cannot(temporal_pair):
    rows, out = temporal_pair
    class_names = list(TEMPORAL_PAIR)
    features = _pixel_features()
    data = FeatureCache(out / "cache").get(features, rows, class_names, num_frames=16, image_size=64)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(data["labels"]))
    train, test = order[:44], order[44:]
    pick = lambda idx: {k: data[k][idx] for k in ("features", "labels", "video_ids")}  # noqa: E731

    head = train_sequence_head(pick(train), None, 2, units=32, epochs=60, learning_rate=3e-3, patience=60)
    lstm_accuracy = (head.predict(pick(test)["features"], verbose=0).argmax(1) == data["labels"][test]).mean()

    # Voting: a frame classifier on the same features, trained on the same videos' frames.
    frame_model = attach_classifier_head(features, 2, 0.0, "frame_classifier")
    frame_model.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy")
    flat = data["features"][train].reshape(-1, data["features"].shape[-1])
    flat_labels = np.repeat(data["labels"][train], data["features"].shape[1])
    head_only = keras.Sequential([keras.Input((flat.shape[1],)), frame_model.get_layer("predictions")])
    head_only.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy")
    head_only.fit(flat, flat_labels, epochs=30, verbose=0)
    test_frames = data["features"][test]
    frame_probs = head_only.predict(test_frames.reshape(-1, test_frames.shape[-1]), verbose=0)
    ids = np.repeat(data["video_ids"][test], test_frames.shape[1])
    _, pooled = pool_by_video(frame_probs, ids, "mean")
    vote_accuracy = (pooled.argmax(1) == data["labels"][test]).mean()

    assert lstm_accuracy >= 0.8, lstm_accuracy
    assert vote_accuracy <= 0.7, vote_accuracy
    assert lstm_accuracy - vote_accuracy >= 0.2, (lstm_accuracy, vote_accuracy)


def test_cached_features_equal_end_to_end_features(temporal_pair, tmp_path):
    rows, _ = temporal_pair
    class_names = list(TEMPORAL_PAIR)
    model = build_frame_classifier("custom_cnn", 2, 64, None)
    features = get_feature_extractor(model)
    cache = FeatureCache(tmp_path)
    first = cache.get(features, rows[:64], class_names, 16, 64)
    again = cache.get(features, rows[:64], class_names, 16, 64)
    assert first["computed"] == 4 and again["computed"] == 0
    np.testing.assert_allclose(first["features"], again["features"])
    direct = extract_clip_features(features, rows[:64], class_names, 16, 64)
    np.testing.assert_allclose(first["features"], direct["features"], rtol=1e-5, atol=1e-5)
    # The head applied to cached features equals the assembled clip model on decoded clips.
    head = build_sequence_head(16, first["features"].shape[-1], 2, units=8)
    clip_model = build_lstm_video_classifier(features, head, 16, 64)
    from toolkit.data.pipeline import make_clip_dataset

    clips = np.concatenate([c for c, _ in make_clip_dataset(rows[:64], class_names, 16, 64, 4).as_numpy_iterator()])
    np.testing.assert_allclose(clip_model.predict(clips, verbose=0), head.predict(first["features"], verbose=0),
                               rtol=1e-4, atol=1e-5)


def test_vote_pooling_rejects_unknown_method():
    with pytest.raises(ValueError, match="method='median'"):
        VotePooling("median")


@pytest.mark.parametrize("method", ["majority", "mean", "confidence"])
def test_overlapped_classify_equals_the_vote_model(synthetic_videos, tmp_path, method):
    import json

    from workout_runtime.video import read_frames
    from toolkit.temporal.inference import VideoClassifier

    model = build_frame_classifier("custom_cnn", 3, 32, None)
    model.save(tmp_path / "model.keras")
    (tmp_path / "class_names.json").write_text(json.dumps(["a", "b", "c"]))
    (tmp_path / "config.json").write_text(json.dumps({"frames_per_video": 6, "image_size": 32, "temporal": "vote",
                                                      "vote_method": method}))
    classifier = VideoClassifier.from_run(tmp_path)
    video = sorted((synthetic_videos / "squat").glob("*.mp4"))[0]
    prediction = classifier.classify(video)
    clip = read_frames(video, 6, size=32).frames.astype("float32")
    expected = build_vote_classifier(model, 6, 32, method).predict(clip[None], verbose=0)[0]
    np.testing.assert_allclose([prediction.probabilities[c] for c in "abc"], expected, rtol=1e-4, atol=1e-5)
    assert prediction.frames_used == 6
