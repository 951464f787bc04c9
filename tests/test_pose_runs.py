"""Pose encoders as a model_name: training both heads, evaluation, video and image inference."""

import json

import numpy as np
import pytest

from test_recipes import run_recipe
from toolkit.config import Config, ConfigError
from toolkit.data.splits import LeakageError
from toolkit.models import get_frame_model_spec
from toolkit.models.pose import MoveNet, PoseModelError
from toolkit.temporal.inference import PoseVideoClassifier, VideoClassifier
from toolkit.training.pose_trainer import (POSE_FRAME_MODEL_FILE, POSE_SEQUENCE_MODEL_FILE,
                                           train_and_evaluate_pose_run)


def _motion(rng, label: int, frames: int = 12) -> np.ndarray:
    """Keypoints of a standing figure raising its wrists (label 0) or bending its knees (label 1)."""
    t = np.linspace(0, 2 * np.pi * rng.uniform(1, 2), frames) + rng.uniform(0, np.pi)
    keypoints = np.zeros((frames, 17, 3), dtype=np.float32)
    base = np.array([[0.15, 0.5], [0.13, 0.52], [0.13, 0.48], [0.14, 0.54], [0.14, 0.46],
                     [0.3, 0.58], [0.3, 0.42], [0.42, 0.6], [0.42, 0.4], [0.52, 0.6], [0.52, 0.4],
                     [0.55, 0.55], [0.55, 0.45], [0.72, 0.56], [0.72, 0.44], [0.9, 0.56], [0.9, 0.44]])
    keypoints[..., :2] = base + rng.normal(0, 0.01, (17, 2)) + rng.uniform(-0.1, 0.1, 2)
    swing = (np.sin(t) + 1) / 2
    if label == 0:
        keypoints[:, 9:11, 0] -= 0.4 * swing[:, None]  # wrists rise above the head
    else:
        keypoints[:, 11:13, 0] += 0.15 * swing[:, None]  # hips sink
        keypoints[:, 0:11, 0] += 0.15 * swing[:, None]
    keypoints[..., 2] = 0.9
    return keypoints


def _pose_dataset(num_videos: int = 24, seed: int = 0):
    """Manifest rows (3 frames listed per video) and keypoint sequences for two motions."""
    rng = np.random.default_rng(seed)
    rows, sequences, subsets = [], {}, []
    for v in range(num_videos):
        label = v % 2
        video_id = f"{['raise', 'squat'][label]}/clip_{v}"
        sequences[video_id] = _motion(rng, label)
        subset = ("test", "validation", "train", "train", "train", "train")[(v // 2) % 6]
        for f in range(3):
            rows.append({"path": f"{video_id}/{f}.jpg", "label": ["raise", "squat"][label], "video_id": video_id,
                         "group": f"person_{v // 2}", "frame_index": f})
            subsets.append(subset)
    return rows, np.array(subsets), sequences


POSE_CONFIG = Config(model_name="movenet_lightning", frames_per_video=12, lstm_epochs=40, lstm_units=16,
                     batch_size=16, learning_rate=5e-3, early_stopping_patience=10, seed=0)


def test_pose_model_names_are_configurable_and_not_pixel_models():
    assert Config(model_name="movenet_thunder", weights="/no/such/file.h5").validate()  # weights ignored
    with pytest.raises(ConfigError, match="movenet_lightning"):
        Config(model_name="movenet").validate()
    with pytest.raises(ValueError, match="pose encoder"):
        get_frame_model_spec("movenet_lightning")


def test_missing_pose_model_dir_names_the_config_field(tmp_path):
    with pytest.raises(PoseModelError, match="pose_model_dir"):
        MoveNet("thunder", tmp_path)


def test_pose_run_trains_both_heads_and_reports(tmp_path):
    rows, subsets, sequences = _pose_dataset()
    models, reports = train_and_evaluate_pose_run(POSE_CONFIG, rows, subsets, tmp_path, ["raise", "squat"],
                                                  sequences)
    assert set(reports) == {"frame", "video_majority", "video_mean", "video_confidence", "video_lstm"}
    assert reports["video_mean"]["samples"] == 4 and reports["frame"]["samples"] == 4 * 12
    assert reports["video_mean"]["accuracy"] == 1.0 and reports["video_lstm"]["accuracy"] >= 0.75
    for name in (POSE_FRAME_MODEL_FILE, POSE_SEQUENCE_MODEL_FILE, "config.json", "split.csv",
                 "test_video_lstm.json", "test_frame_confusion.png"):
        assert (tmp_path / name).is_file(), name
    assert json.loads((tmp_path / "config.json").read_text())["model_name"] == "movenet_lightning"
    # A group on two sides of the split is refused before any training.
    leaky = subsets.copy()
    leaky[0] = "train"
    with pytest.raises(LeakageError):
        train_and_evaluate_pose_run(POSE_CONFIG, rows, leaky, tmp_path / "leaky", ["raise", "squat"], sequences)


class _BrightnessEncoder:
    """A stand-in pose model: the frame's brightness decides between the two motions' poses."""

    name = "stub"

    def __init__(self):
        self.shapes = []

    def __call__(self, frames):
        frames = np.asarray(frames)
        self.shapes.append(frames.shape)
        rng = np.random.default_rng(0)
        return np.concatenate([_motion(rng, int(f.mean() > 100), frames=1) for f in frames])


def test_pose_video_classifier_classifies_and_segments(tmp_path, synthetic_videos):
    import cv2
    import keras

    rows, subsets, sequences = _pose_dataset()
    train_and_evaluate_pose_run(POSE_CONFIG, rows, subsets, tmp_path, ["raise", "squat"], sequences)
    video = sorted(synthetic_videos.rglob("*.mp4"))[0]
    capture = cv2.VideoCapture(str(video))
    width, height = capture.get(cv2.CAP_PROP_FRAME_WIDTH), capture.get(cv2.CAP_PROP_FRAME_HEIGHT)
    capture.release()
    for file, method in ((POSE_SEQUENCE_MODEL_FILE, None), (POSE_FRAME_MODEL_FILE, "majority")):
        encoder = _BrightnessEncoder()
        classifier = PoseVideoClassifier(encoder, keras.models.load_model(tmp_path / file), ["raise", "squat"],
                                         12, "test", method)
        prediction = classifier.classify(video)
        assert prediction.label in ("raise", "squat") and prediction.frames_used == 12
        assert sum(prediction.probabilities.values()) == pytest.approx(1.0, abs=1e-4)
        # Frames keep the video's aspect ratio (MoveNet letterboxes them itself).
        assert encoder.shapes[0][1:3] == (int(height), int(width))
        windows, segments = classifier.timeline(video, window_s=1.0, stride_s=0.5)
        assert windows and segments[0].start_s == 0.0
        assert segments[-1].end_s == pytest.approx(prediction.end_s, abs=0.2)


@pytest.fixture(scope="module")
def workout_pose_frames(shared_dir, tmp_path_factory):
    """Frames of 3 squat and 3 pull-up clips of workout4, each from another source."""
    if not (shared_dir / "models" / "movenet" / "movenet-lightning.json").is_file():
        pytest.skip("MoveNet models absent from ../shared/models")
    import csv

    source = shared_dir / "data" / "workout4"
    with open(source / "manifest.csv") as f:
        entries = list(csv.DictReader(f))
    videos = tmp_path_factory.mktemp("workout_subset")
    lines = ["path,label,group"]
    for label in ("squats", "pull-ups"):
        seen = set()
        for entry in entries:
            if entry["label"] == label and entry["group"] not in seen and len(seen) < 3:
                seen.add(entry["group"])
                (videos / label).mkdir(exist_ok=True)
                (videos / label / (source / entry["path"]).name).symlink_to(source / entry["path"])
                lines.append(f"{label}/{(source / entry['path']).name},{label},{entry['group']}")
    (videos / "manifest.csv").write_text("\n".join(lines) + "\n")
    frames = tmp_path_factory.mktemp("workout_frames")
    run_recipe("extract_frames.py", "--videos", videos, "--out", frames, "--frames", 6)
    return videos, frames, shared_dir / "models" / "movenet"


@pytest.mark.slow
def test_pose_recipes_train_classify_and_evaluate_on_real_clips(workout_pose_frames, tmp_path):
    videos, frames, models = workout_pose_frames
    pose = ["--model-name", "movenet_lightning", "--pose-model-dir", models, "--frames-per-video", 6,
            "--lstm-epochs", 10, "--test-fraction", 0.34, "--validation-fraction", 0.3, "--seed", 0]
    result = run_recipe("train_video_classifier.py", "--frames", frames, "--runs-dir", tmp_path, "--name", "pose",
                        *pose)
    run = tmp_path / "pose"
    assert "test video lstm" in result.stdout and (frames / "pose_cache" / "movenet-lightning.npz").is_file()
    clip = sorted(videos.rglob("*.mp4"))[0]
    for temporal in ("lstm", "vote"):
        out = json.loads(run_recipe("classify_video.py", clip, "--run", run, "--temporal", temporal,
                                    "--json").stdout)
        assert out["results"][0]["label"] in ("squats", "pull-ups") and "pose" in out["model"]
    result = run_recipe("evaluate.py", "--run", run, "--out", tmp_path / "eval")
    assert (tmp_path / "eval" / "test_video_lstm.json").is_file()
    images = sorted(frames.rglob("*.jpg"))[:2]
    out = json.loads(run_recipe("classify_image.py", *images, "--run", run, "--json", check=False).stdout)
    assert len(out["results"]) + len(out["failures"]) == 2
    refused = run_recipe("train_video_classifier.py", "--frames", frames, "--end-to-end", *pose, check=False)
    assert refused.returncode != 0 and "pose encoder" in refused.stderr
    assert isinstance(VideoClassifier.from_run(run), PoseVideoClassifier)
    run_recipe("cross_validate.py", "--frames", frames, "--out", tmp_path / "cv", *pose, "--folds", 2)
    summary = (tmp_path / "cv" / "summary.csv").read_text()
    assert "video_lstm" in summary and "video_mean" in summary
