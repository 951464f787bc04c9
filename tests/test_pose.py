"""MoveNet inside the Keras graph, pose features as layers, and their parity with the NumPy pipeline they replace."""

import json

import keras
import numpy as np
import pytest

import pose_reference as reference
from conftest import MOVENET
from toolkit.data.penn_action import PENN_TO_COCO, load_sequence
from toolkit.models.pose import MoveNetLayer, PoseModelError, build_movenet_encoder, find_movenet, keypoint_model
from toolkit.models.pose_features import FRAME_FEATURES, PoseFrameFeatures
from toolkit.models.tfjs import graph_function, read_tfjs_files
from toolkit.temporal.pose_motion import MOTION_FEATURES, PoseMotionFeatures
from toolkit.training.heads import fit_sequence_head, predict_arrays
from toolkit.config import Config
from workout_runtime.sampling import read_frames


@pytest.fixture(scope="module")
def movenet_dir():
    folder = MOVENET
    if not (folder / "movenet-lightning.json").is_file():
        pytest.skip("MoveNet models absent from ../shared/models")
    return folder


def _frame_features(keypoints):
    return keras.ops.convert_to_numpy(PoseFrameFeatures()(np.asarray(keypoints, "float32")))


def _motion_features(frame_features):
    return keras.ops.convert_to_numpy(PoseMotionFeatures()(np.asarray(frame_features, "float32")[None]))[0]


def test_movenet_layer_on_a_real_frame(movenet_dir, shared_dir):
    video = sorted((shared_dir / "data" / "workout4" / "squats").glob("*.mp4"))[0]
    frame = read_frames(video, 1).frames
    keypoints = keras.ops.convert_to_numpy(keypoint_model(build_movenet_encoder("lightning", movenet_dir))(frame))
    assert keypoints.shape == (1, 17, 3) and keypoints.dtype == np.float32
    assert np.all((keypoints[..., :2] > -0.05) & (keypoints[..., :2] < 1.05))
    assert np.all((keypoints[..., 2] >= 0) & (keypoints[..., 2] <= 1))
    # A person fills the clip: most joints are found, and the head is above the ankles.
    assert (keypoints[0, :, 2] > 0.2).sum() >= 10
    assert keypoints[0, 0, 0] < keypoints[0, 15, 0]


def test_graph_pipeline_matches_the_numpy_pipeline_on_real_frames(movenet_dir, shared_dir):
    """Letterboxing, MoveNet, per-frame and motion features in the graph against OpenCV + NumPy, within 1e-5."""
    encoder = build_movenet_encoder("thunder", movenet_dir)
    keypoints_of = keypoint_model(encoder)
    function, _ = graph_function(*read_tfjs_files(find_movenet("thunder", movenet_dir)))
    videos = sorted((shared_dir / "data" / "workout4").glob("*/*.mp4"))[::20]
    bodies = 0
    for video in videos:
        frames = read_frames(video, 8).frames
        expected_keypoints = reference.movenet_keypoints(function, 256, frames)
        keypoints = keras.ops.convert_to_numpy(keypoints_of(frames))
        confident = expected_keypoints[..., 2] > 0.3
        np.testing.assert_allclose(keypoints[..., :2][confident], expected_keypoints[..., :2][confident], atol=1e-5)
        np.testing.assert_allclose(keypoints[..., 2], expected_keypoints[..., 2], atol=1e-5)
        body = reference.has_body(expected_keypoints)
        bodies += body.sum()
        # Per frame: the static features on the frames with a body, zeros elsewhere.
        features = keras.ops.convert_to_numpy(encoder(frames))
        static = reference.pose_features(expected_keypoints)[:, :60]
        np.testing.assert_allclose(features[body, :60], static[body], atol=1e-5)
        assert not features[~body].any()
        # Over the clip: velocities and root motion, computed by the NumPy code on the same bodies.
        masked = expected_keypoints.copy()
        masked[~body, :, 2] = 0.0
        np.testing.assert_allclose(_motion_features(features), reference.pose_features(masked), atol=1e-5)
    assert bodies >= 0.9 * 8 * len(videos)


def test_movenet_layer_refuses_missing_and_malformed_models(tmp_path, movenet_dir):
    with pytest.raises(PoseModelError, match="not found"):
        MoveNetLayer.from_files(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(PoseModelError, match="not a TF.js graph model"):
        MoveNetLayer.from_files(tmp_path / "bad.json")
    document = json.loads((movenet_dir / "movenet-lightning.json").read_text())
    (tmp_path / "short.json").write_text(json.dumps(document))
    (tmp_path / "movenet-lightning.bin").write_bytes((movenet_dir / "movenet-lightning.bin").read_bytes()[:1000])
    with pytest.raises(PoseModelError, match="missing|end early"):
        MoveNetLayer.from_files(tmp_path / "short.json")
    with pytest.raises(PoseModelError, match="pose_model_dir"):
        find_movenet("thunder", tmp_path / "elsewhere")


def test_blank_and_noise_frames_show_no_body(movenet_dir):
    encoder = build_movenet_encoder("lightning", movenet_dir)
    rng = np.random.default_rng(0)
    frames = np.stack([np.zeros((120, 160, 3), np.uint8), np.full((120, 160, 3), 200, np.uint8),
                       rng.integers(0, 256, (120, 160, 3)).astype(np.uint8), np.zeros((1, 1, 3), np.uint8).repeat(
                           120, 0).repeat(160, 1)])
    assert not keras.ops.convert_to_numpy(encoder(frames)).any()


def _random_pose(rng, frames=6):
    keypoints = np.zeros((frames, 17, 3), dtype=np.float32)
    keypoints[..., 0] = rng.uniform(0.2, 0.8, (frames, 17))
    keypoints[..., 1] = rng.uniform(0.3, 0.7, (frames, 17))
    keypoints[..., 2] = rng.uniform(0.3, 1.0, (frames, 17))
    keypoints[:, 3, 2] = 0.05  # one joint below the confidence threshold
    return keypoints


def test_features_match_numpy_and_ignore_translation_and_scale():
    keypoints = _random_pose(np.random.default_rng(0))
    features = _frame_features(keypoints)
    assert features.shape == (6, FRAME_FEATURES)
    np.testing.assert_allclose(features[:, :60], reference.pose_features(keypoints)[:, :60], atol=1e-5)
    moved = keypoints.copy()
    moved[..., :2] = keypoints[..., :2] * 0.5 + np.array([0.1, -0.2])
    np.testing.assert_allclose(_frame_features(moved)[:, :60], features[:, :60], atol=1e-4)
    unmirrored = keras.ops.convert_to_numpy(PoseFrameFeatures(mirror_invariant=False)(keypoints))
    assert not unmirrored[:, 34 + 3].any() and not unmirrored[:, 6:8].any()  # the low-confidence joint is masked
    motion = _motion_features(features)
    assert motion.shape == (6, MOTION_FEATURES)
    np.testing.assert_allclose(motion, reference.pose_features(keypoints), atol=1e-5)


def test_mirror_invariance_maps_a_flipped_pose_onto_the_original():
    keypoints = _random_pose(np.random.default_rng(1))
    keypoints[:, 0, 1] = 0.65  # nose right of the shoulders: facing right
    keypoints[:, 5:7, 1] = 0.5
    flipped = keypoints.copy()
    flipped[..., 1] = 1.0 - keypoints[..., 1]
    for a, b in [(1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)]:
        flipped[:, [a, b]] = flipped[:, [b, a]]
    np.testing.assert_allclose(_motion_features(_frame_features(keypoints)),
                               _motion_features(_frame_features(flipped)), atol=1e-4)


def test_a_single_joint_is_not_a_body():
    keypoints = np.zeros((2, 17, 3), np.float32)
    keypoints[0, 9] = (0.5, 0.5, 0.9)  # a "wrist" on an empty wall
    keypoints[1, [5, 11, 13, 15, 7]] = [(0.3, 0.5, 0.9), (0.55, 0.5, 0.9), (0.7, 0.5, 0.9), (0.9, 0.5, 0.9),
                                        (0.4, 0.55, 0.9)]  # a shoulder, a hip and three more: only five joints
    assert not _frame_features(keypoints).any()
    upper = np.zeros((1, 17, 3), np.float32)  # a pull-up filmed from the waist up: no hip, still a body
    upper[0, :11] = np.column_stack([np.linspace(0.2, 0.6, 11), np.linspace(0.4, 0.6, 11), np.full(11, 0.9)])
    features = _frame_features(upper)
    assert features.any()
    np.testing.assert_allclose(features[:, :60], reference.pose_features(upper)[:, :60], atol=1e-5)


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
    """A synthetic keypoint sequence: wrists rising fast and sinking slowly, or the reverse."""
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


@pytest.mark.parametrize("aggregator", ["lstm", pytest.param("transformer", marks=pytest.mark.slow)])
def test_pose_sequence_heads_separate_motions_differing_only_in_order(aggregator):
    rng = np.random.default_rng(0)
    labels = np.array([0, 1] * 40, dtype=np.int32)
    features = np.stack([_frame_features(_curl_sequence(rng, bool(y == 0))) for y in labels])
    config = Config(head_epochs=60, early_stopping_patience=60, lstm_units=16, transformer_units=16,
                    sequence_learning_rate=5e-3, dropout=0.1, seed=0)
    head = fit_sequence_head(aggregator, {"features": features[:60], "labels": labels[:60]}, None, 2, config, True)
    accuracy = (predict_arrays(head, features[60:]).argmax(1) == labels[60:]).mean()
    assert accuracy >= 0.85, accuracy
    # The frames themselves are indistinguishable in distribution: mean coordinates nearly equal.
    gap = np.abs(features[labels == 0, :, :34].mean((0, 1)) - features[labels == 1, :, :34].mean((0, 1)))
    assert gap.max() < 0.1
