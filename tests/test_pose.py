import json

import numpy as np
import pytest

from toolkit.data.penn_action import PENN_TO_COCO, load_sequence
from toolkit.models.pose import MoveNet, PoseModelError, load_tfjs_graph_model
from toolkit.models.pose_features import FEATURES_PER_FRAME, normalise_keypoints, pose_features, sample_uniform
from toolkit.training.video_trainer import train_sequence_head


@pytest.fixture(scope="module")
def movenet_dir(shared_dir):
    folder = shared_dir / "models" / "movenet"
    if not (folder / "movenet-lightning.json").is_file():
        pytest.skip("MoveNet models absent from ../shared/models")
    return folder


def test_movenet_on_a_real_frame(movenet_dir, shared_dir):
    from workout_runtime.video import read_frames

    video = sorted((shared_dir / "data" / "workout4" / "squats").glob("*.mp4"))[0]
    frame = read_frames(video, 1).frames
    keypoints = MoveNet("lightning", movenet_dir)(frame)
    assert keypoints.shape == (1, 17, 3) and keypoints.dtype == np.float32
    assert np.all((keypoints[..., :2] > -0.05) & (keypoints[..., :2] < 1.05))
    assert np.all((keypoints[..., 2] >= 0) & (keypoints[..., 2] <= 1))
    # A person fills the clip: most joints are found, and the head is above the ankles.
    assert (keypoints[0, :, 2] > 0.2).sum() >= 10
    assert keypoints[0, 0, 0] < keypoints[0, 15, 0]


def test_missing_and_malformed_models_are_reported(tmp_path, movenet_dir):
    with pytest.raises(PoseModelError, match="not found"):
        load_tfjs_graph_model(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(PoseModelError, match="not a TF.js graph model"):
        load_tfjs_graph_model(tmp_path / "bad.json")
    document = json.loads((movenet_dir / "movenet-lightning.json").read_text())
    (tmp_path / "short.json").write_text(json.dumps(document))
    (tmp_path / "movenet-lightning.bin").write_bytes((movenet_dir / "movenet-lightning.bin").read_bytes()[:1000])
    with pytest.raises(PoseModelError, match="missing|end early"):
        load_tfjs_graph_model(tmp_path / "short.json")


def _random_pose(rng, frames=6):
    keypoints = np.zeros((frames, 17, 3), dtype=np.float32)
    keypoints[..., 0] = rng.uniform(0.2, 0.8, (frames, 17))
    keypoints[..., 1] = rng.uniform(0.3, 0.7, (frames, 17))
    keypoints[..., 2] = rng.uniform(0.3, 1.0, (frames, 17))
    keypoints[:, 3, 2] = 0.05  # one joint below the confidence threshold
    return keypoints


@pytest.mark.parametrize("mirror", [True, False])
def test_features_unchanged_by_translation_and_scale(mirror):
    keypoints = _random_pose(np.random.default_rng(0))
    moved = keypoints.copy()
    moved[..., :2] = keypoints[..., :2] * 0.5 + np.array([0.1, -0.2])
    a, b = pose_features(keypoints, mirror_invariant=mirror), pose_features(moved, mirror_invariant=mirror)
    assert a.shape == (6, FEATURES_PER_FRAME)
    np.testing.assert_allclose(a, b, atol=1e-4)
    _, visible = normalise_keypoints(keypoints, mirror_invariant=False)
    assert not visible[:, 3].any()  # low-confidence joint masked


def test_mirror_invariance_maps_a_flipped_pose_onto_the_original():
    keypoints = _random_pose(np.random.default_rng(1))
    keypoints[:, 0, 1] = 0.65  # nose right of the shoulders: facing right
    keypoints[:, 5:7, 1] = 0.5
    flipped = keypoints.copy()
    flipped[..., 1] = 1.0 - keypoints[..., 1]
    for a, b in [(1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)]:
        flipped[:, [a, b]] = flipped[:, [b, a]]
    np.testing.assert_allclose(pose_features(keypoints), pose_features(flipped), atol=1e-4)


def test_penn_action_loader_reads_and_maps_joints(shared_dir):
    folder = shared_dir / "data" / "penn_action_keypoints" / "labels"
    first, second = load_sequence(folder / "0001.mat"), load_sequence(folder / "0002.mat")
    assert first["action"] == "baseball_pitch" and not first["train"] and second["train"]
    for sequence in (first, second):
        keypoints = sequence["keypoints"]
        assert keypoints.shape[1:] == (17, 3)
        assert np.all(keypoints[:, [1, 2, 3, 4], 2] == 0)  # eyes and ears are not labelled
        assert np.all(keypoints[:, list(PENN_TO_COCO), 2] >= 0.5)
        assert np.all((keypoints[..., :2] >= -0.1) & (keypoints[..., :2] <= 1.1))
        # The head sits above the ankles in most frames.
        assert np.mean(keypoints[:, 0, 0] < keypoints[:, 15, 0]) > 0.5


def _curl_sequence(rng, fast_lift: bool, frames=16):
    """A synthetic keypoint sequence: a wrist rising fast and sinking slowly, or the reverse."""
    phase = (np.arange(frames) / frames * rng.uniform(1.5, 2.5) + rng.uniform()) % 1.0
    lift = 0.25 if fast_lift else 0.75
    extent = np.where(phase < lift, phase / lift, 1 - (phase - lift) / (1 - lift))
    keypoints = np.zeros((frames, 17, 3), dtype=np.float32)
    base = np.array([[0.2, 0.5]] * 17) + rng.normal(0, 0.01, (17, 2))
    base[5:7, 0], base[11:13, 0] = 0.35, 0.6  # shoulders above hips
    keypoints[..., :2] = base
    keypoints[:, 9:11, 0] = 0.6 - 0.25 * extent[:, None]  # wrists
    keypoints[..., 2] = 0.9
    return keypoints


def test_pose_lstm_separates_motions_differing_only_in_order():
    rng = np.random.default_rng(0)
    labels = np.array([0, 1] * 40)
    features = np.stack([sample_uniform(pose_features(_curl_sequence(rng, bool(y == 0))), 16) for y in labels])
    head = train_sequence_head({"features": features[:60], "labels": labels[:60]}, None, 2, units=16,
                               epochs=60, learning_rate=5e-3, patience=60)
    accuracy = (head.predict(features[60:], verbose=0).argmax(1) == labels[60:]).mean()
    assert accuracy >= 0.85
    # The frames themselves are indistinguishable in distribution: mean features nearly equal.
    mean_gap = np.abs(features[labels == 0, :, :34].mean((0, 1)) - features[labels == 1, :, :34].mean((0, 1)))
    assert mean_gap.max() < 0.1
