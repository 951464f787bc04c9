"""Temporal heads, the video model built on them, and the classifier that splits it again."""

import keras
import numpy as np
import pytest

from toolkit.config import Config
from toolkit.data.frames import extract_frames
from toolkit.data.manifest import read_manifest
from toolkit.data.pipeline import make_clip_dataset
from toolkit.data.synthetic import SyntheticConfig, generate_dataset
from toolkit.data.synthetic_motion import TEMPORAL_PAIR
from toolkit.models import build_encoder
from toolkit.temporal.heads import build_lstm_head, build_transformer_head, build_vote_head
from toolkit.temporal.layers import FramewiseApply, VotePooling
from toolkit.temporal.video_model import build_video_model, split_video_model
from toolkit.training.features import FeatureCache, clip_arrays, frame_arrays
from toolkit.training.heads import fit_frame_head, fit_sequence_head, predict_arrays


class FirstChannels(keras.layers.Layer):
    """A stand-in frame head whose output is its input's first three features."""

    def call(self, x):
        return x[:, :3]


def _identity_frame_head():
    inputs = keras.Input((4,))
    return keras.Model(inputs, FirstChannels()(inputs))


# Case A: three frames lean to class 0, one frame is sure of class 1.
CASE_A = [[0.40, 0.35, 0.25]] * 3 + [[0.0, 1.0, 0.0]]
# Case B: one frame is sure of class 0, three frames lean to class 1.
CASE_B = [[1.0, 0.0, 0.0]] + [[0.10, 0.55, 0.35]] * 3


@pytest.mark.parametrize("probs, method, expected", [
    (CASE_A, "majority", 0), (CASE_A, "mean", 1), (CASE_A, "confidence", 1),
    (CASE_B, "majority", 1), (CASE_B, "mean", 1), (CASE_B, "confidence", 0),
])
def test_vote_head_over_known_frame_outputs(probs, method, expected):
    probs = np.array(probs, dtype="float32")
    features = np.zeros((1, 5, 4), dtype="float32")
    features[0, :4, :3] = probs
    features[0, :4, 3] = 1.0  # evidence even where a probability is 0
    # Frame 5 is padding (all zeros): were it counted, it would pull the mean towards 0.
    pooled = keras.ops.convert_to_numpy(build_vote_head(_identity_frame_head(), 5, method)(features))[0]
    assert int(np.argmax(pooled)) == expected
    np.testing.assert_allclose(pooled.sum(), 1.0, rtol=1e-5)
    if method == "mean":
        np.testing.assert_allclose(pooled, probs.mean(axis=0), rtol=1e-5)


@pytest.mark.parametrize("method", VotePooling.METHODS)
def test_a_clip_without_evidence_gets_the_uniform_distribution(method):
    pooled = keras.ops.convert_to_numpy(build_vote_head(_identity_frame_head(), 4, method)(np.zeros((2, 4, 4))))
    np.testing.assert_allclose(pooled, np.full((2, 3), 1 / 3), rtol=1e-6)
    for head in (build_lstm_head(4, 4, 3), build_transformer_head(4, 4, 3, units=8)):
        assert np.isfinite(keras.ops.convert_to_numpy(head(np.zeros((2, 4, 4), "float32")))).all()


def test_vote_pooling_rejects_unknown_method():
    with pytest.raises(ValueError, match="method='median'"):
        VotePooling("median")


@pytest.mark.parametrize("head_kind", ["vote", "lstm", "transformer"])
def test_video_model_saves_loads_and_splits(tmp_path, head_kind):
    encoder = build_encoder("custom_cnn", 32, None)
    if head_kind == "vote":
        from toolkit.models import build_frame_head
        head = build_vote_head(build_frame_head(256, 3), 4, "majority")
    else:
        head = (build_lstm_head if head_kind == "lstm" else build_transformer_head)(4, 256, 3)
    model = build_video_model(encoder, head, 4, 32)
    clips = np.random.default_rng(0).integers(0, 255, (2, 4, 32, 32, 3)).astype("uint8")
    clips[1, 3] = 0  # a padding frame
    expected = keras.ops.convert_to_numpy(model(clips))
    model.save(tmp_path / "v.keras")
    loaded = keras.models.load_model(tmp_path / "v.keras", safe_mode=True)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(clips)), expected, rtol=1e-5, atol=1e-6)
    encoder_part, head_part = split_video_model(loaded)
    features = keras.ops.convert_to_numpy(encoder_part(clips.reshape(-1, 32, 32, 3).astype("float32")))
    features = features.reshape(2, 4, -1)
    features[1, 3] = 0.0  # what the video model does to padding frames
    np.testing.assert_allclose(keras.ops.convert_to_numpy(head_part(features)), expected, rtol=1e-5, atol=1e-6)


def test_framewise_apply_keeps_frozen_batchnorm_in_inference_mode():
    encoder = build_encoder("custom_cnn", 32, None)
    encoder.trainable = False
    wrapped = keras.Sequential([keras.Input((3, 32, 32, 3)), FramewiseApply(encoder)])
    clips = np.random.default_rng(1).integers(0, 255, (2, 3, 32, 32, 3)).astype("float32")
    bn = [l for l in encoder.layers if isinstance(l, keras.layers.BatchNormalization)][0]
    before = np.array(bn.moving_mean)
    in_training = keras.ops.convert_to_numpy(wrapped(clips, training=True))
    in_inference = keras.ops.convert_to_numpy(wrapped(clips, training=False))
    np.testing.assert_allclose(in_training, in_inference, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(before, np.array(bn.moving_mean))
    # Unfrozen, the same call would use batch statistics: the test can fail.
    encoder.trainable = True
    unfrozen = keras.ops.convert_to_numpy(wrapped(clips, training=True))
    assert not np.allclose(unfrozen, in_inference, atol=1e-4)


def _pixel_encoder(size=64):
    """A fixed, pose-sensitive frame encoder: the central crop at 16 x 16 grey values."""
    inputs = keras.Input((size, size, 3))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.CenterCrop(40, 40)(x)
    x = keras.layers.Resizing(16, 16, interpolation="area")(x)
    x = GreyMean()(x)
    return keras.Model(inputs, keras.layers.Flatten()(x), name="encoder")


@keras.saving.register_keras_serializable(package="tests")
class GreyMean(keras.layers.Layer):
    def call(self, x):
        return keras.ops.mean(x, axis=-1)


@pytest.fixture(scope="module")
def temporal_pair(tmp_path_factory):
    out = tmp_path_factory.mktemp("pair")
    config = SyntheticConfig(classes=TEMPORAL_PAIR, videos_per_class=32, num_performers=1, reps_range=(1, 2),
                             rep_seconds_range=(2.0, 3.0), max_duration_s=6.0, fps_choices=(12,),
                             resolutions=((96, 96),), vary_scene=False, seed=11)
    generate_dataset(out / "videos", config, num_workers=2, progress=False)
    extract_frames(out / "videos", out / "frames", num_frames=16, size=64, progress=False)
    return read_manifest(out / "frames"), out


def test_sequence_heads_separate_the_temporal_pair_where_voting_cannot(temporal_pair):
    rows, out = temporal_pair
    class_names = list(TEMPORAL_PAIR)
    features = FeatureCache(out / "cache", "fixed", 64).get(_pixel_encoder(), rows, progress=False)
    videos = sorted({r["video_id"] for r in rows})
    order = np.random.default_rng(0).permutation(len(videos))
    train_ids = {videos[i] for i in order[:44]}
    train = [r for r in rows if r["video_id"] in train_ids]
    test = [r for r in rows if r["video_id"] not in train_ids]
    train_clips, test_clips = (clip_arrays(part, features, class_names, 16) for part in (train, test))
    config = Config(head_epochs=60, early_stopping_patience=60, lstm_units=32, transformer_units=32,
                    sequence_learning_rate=3e-3, learning_rate=3e-3, dropout=0.1, seed=0)
    accuracy = {}
    for aggregator in ("lstm", "transformer"):
        head = fit_sequence_head(aggregator, train_clips, None, 2, config, False)
        accuracy[aggregator] = (predict_arrays(head, test_clips["features"]).argmax(1) == test_clips["labels"]).mean()
    frame_head = fit_frame_head(frame_arrays(train, features, class_names), None, 2, config)
    vote = build_vote_head(frame_head, 16, "mean")
    accuracy["vote"] = (predict_arrays(vote, test_clips["features"]).argmax(1) == test_clips["labels"]).mean()
    assert accuracy["vote"] <= 0.7, accuracy
    for aggregator in ("lstm", "transformer"):
        assert accuracy[aggregator] >= 0.8 and accuracy[aggregator] - accuracy["vote"] >= 0.2, accuracy


def test_cached_features_and_heads_equal_the_assembled_video_model(temporal_pair, tmp_path):
    rows, _ = temporal_pair
    rows = rows[:64]
    class_names = list(TEMPORAL_PAIR)
    encoder = build_encoder("custom_cnn", 64, None)
    cache = FeatureCache(tmp_path, "custom_cnn", 64)
    first = cache.get(encoder, rows, progress=False)
    assert cache.computed == 64
    again = cache.get(encoder, rows, progress=False)
    assert cache.computed == 0
    np.testing.assert_allclose(np.stack(list(first.values())), np.stack(list(again.values())))
    clips = clip_arrays(rows, first, class_names, 16)
    head = build_lstm_head(16, 256, 2, units=8)
    model = build_video_model(encoder, head, 16, 64)
    decoded = np.concatenate([c for c, _ in make_clip_dataset(rows, class_names, 16, 64, 4).as_numpy_iterator()])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(decoded)), predict_arrays(head, clips["features"]),
                               rtol=1e-4, atol=1e-5)
