"""Repetition counting: known counts on synthetic figures' true joints, nothing for a still figure, and
classify_video --reps on a pose run."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import MOVENET
from toolkit.data.synthetic import SyntheticConfig, generate_dataset
from toolkit.data.synthetic_motion import square_keypoints
from workout_runtime.repetitions import count_repetitions, learn_motion

ROOT = Path(__file__).resolve().parents[1]
FPS = 8.0
EXERCISES = ("squat", "push_up", "jumping_jack", "lunge", "lateral_raise", "curl_slow_lift")


def pose_features(keypoints: np.ndarray, width: int, height: int) -> np.ndarray:
    """True joints -> the 64 pose features, in a square frame as MoveNet's letterbox gives."""
    import keras

    from toolkit.models.pose_features import PoseFrameFeatures

    return keras.ops.convert_to_numpy(PoseFrameFeatures()(square_keypoints(keypoints, width, height)))


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """One video per motion with 2-7 repetitions at uneven tempo and pauses, with their true joints."""
    out = tmp_path_factory.mktemp("sets")
    config = SyntheticConfig(classes=EXERCISES + ("standing_still",), videos_per_class=1, num_performers=2,
                             reps_range=(2, 7), rep_seconds_range=(1.0, 2.0), max_duration_s=60,
                             fps_choices=(16,), resolutions=((160, 120),), start_at_rest=True, pause_probability=0.4,
                             pause_seconds_range=(0.5, 1.5), tempo_jitter=0.25, record_keypoints=True, seed=11)
    generate_dataset(out, config, num_workers=2, progress=False)
    with open(out / "manifest.csv") as f:
        rows = list(csv.DictReader(f))
    found = {}
    for row in rows:
        keypoints = np.load((out / row["path"]).with_suffix(".keypoints.npy"))
        every = int(float(row["fps"]) / FPS)  # 16 fps -> the counter's 8
        found[row["label"]] = (pose_features(keypoints[::every], int(row["width"]), int(row["height"])),
                               json.loads(row["repetitions"]), out / row["path"])
    return found


@pytest.mark.parametrize("label", EXERCISES)
def test_counts_every_repetition_of_a_set_with_pauses(recorded, label):
    features, truth, _ = recorded[label]
    result = count_repetitions(features, FPS)  # class-agnostic: nothing learnt about the exercise
    assert result.count == len(truth), (result.count, truth, result.reason)
    for found, (start, turn, end) in zip(result.repetitions, truth):
        assert found.start_s <= found.turn_s <= found.end_s
        assert abs(found.turn_s - turn) <= 0.4  # the turning point within a few frames at 8 fps
        assert found.start_s < end and found.end_s > start  # it overlaps its true repetition


def test_a_still_figure_does_no_repetitions(recorded):
    features, truth, _ = recorded["standing_still"]
    assert truth == []
    result = count_repetitions(features, FPS)
    assert result.count == 0 and result.reason


def test_a_movement_much_smaller_than_the_exercise_usually_makes_is_not_counted(recorded):
    features, truth, _ = recorded["squat"]
    learnt = learn_motion({"squat": [features]}, FPS)
    # The same set, each frame pulled 85 % of the way towards the first: a person barely bobbing.
    tiny = features[:1] + 0.15 * (features - features[:1])
    tiny[~np.any(features != 0, axis=1)] = 0
    assert count_repetitions(tiny, FPS).count == len(truth)  # nothing learnt: still counted
    result = count_repetitions(tiny, FPS, "squat", learnt)
    assert result.count == 0 and "barely moves" in result.reason
    assert count_repetitions(features, FPS, "squat", learnt).count == len(truth)


def test_ranges_of_runs_from_before_version_0_2_are_not_used_as_a_yardstick(recorded):
    features, truth, _ = recorded["squat"]
    old = {"scales": {"knee_angle": 0.5}, "classes": {"squat": 1000.0}}  # measured on rescaled signals
    assert count_repetitions(features, FPS, "squat", old).count == len(truth)


def test_no_body_means_no_count():
    result = count_repetitions(np.zeros((40, 64), np.float32), FPS)
    assert result.count == 0 and result.reason == "no body in enough frames"


def run_classify(*args):
    return subprocess.run([sys.executable, str(ROOT / "recipes" / "classify_video.py"), *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)


@pytest.fixture(scope="module")
def pose_run(synthetic_frames, tmp_path_factory):
    if not (MOVENET / "movenet-lightning.json").is_file():
        pytest.skip("MoveNet models absent from ../shared/models")
    from toolkit.config import Config
    from toolkit.data.manifest import read_manifest
    from toolkit.data.splits import split_manifest
    from toolkit.training.trainer import train_run

    rows = read_manifest(synthetic_frames)
    config = Config(model_name="movenet_lightning", frames_per_video=4, head_epochs=3, batch_size=16,
                    early_stopping_patience=2, lstm_units=8, transformer_units=8, frame_head_units=8,
                    pose_model_dir=str(MOVENET), validation_fraction=0.25, test_fraction=0.25, seed=0).validate()
    run = tmp_path_factory.mktemp("pose") / "run"
    train_run(config, rows, split_manifest(rows, 0.25, 0.25, seed=0), run, aggregators=("vote",), progress=False,
              log=lambda _: None)
    info = json.loads((run / "run.json").read_text())
    assert set(info["repetitions"]["classes"]) == set(info["class_names"])
    return run


def test_classify_video_reps_reports_each_repetition_with_its_own_verdict(pose_run, recorded, tmp_path):
    video = recorded["squat"][2]
    result = run_classify(video, "--run", pose_run, "--reps", "--no-reject", "--json", "--reps-plot", tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    verdict = json.loads(result.stdout)["results"][0]
    counted = verdict["repetitions"]
    assert isinstance(counted["count"], int) and counted["count"] == len(counted["repetitions"])
    names = json.loads((pose_run / "class_names.json").read_text())
    for rep in counted["repetitions"]:
        assert rep["start_s"] <= rep["turn_s"] <= rep["end_s"]
        assert rep["label"] in names + ["unknown"] and 0 <= rep["confidence"] <= 1
    if counted["count"]:
        assert Path(counted["plot"]).is_file()
    text = run_classify(video, "--run", pose_run, "--reps", "--no-reject")
    assert text.returncode == 0 and "repetitions:" in text.stdout
    timeline = run_classify(video, "--run", pose_run, "--reps", "--timeline", "--window", 2, "--json")
    assert timeline.returncode == 0, timeline.stderr[-2000:]
    segments = json.loads(timeline.stdout)["results"][0]["segments"]
    assert segments and all("repetitions" in s for s in segments)
    for segment in segments:
        if segment["label"] == "unknown":
            assert segment["repetitions"]["count"] == 0  # "unknown" stretches are never counted
        for rep in segment["repetitions"]["repetitions"]:
            assert segment["start_s"] - 1e-6 <= rep["start_s"] and rep["end_s"] <= segment["end_s"] + 1e-6


def test_reps_plot_needs_reps(pose_run, recorded, tmp_path):
    result = run_classify(recorded["squat"][2], "--run", pose_run, "--reps-plot", tmp_path)
    assert result.returncode == 2 and "--reps-plot needs --reps" in result.stderr


def test_reps_plots_of_clips_with_the_same_name_do_not_overwrite_each_other(pose_run, recorded, tmp_path):
    import shutil

    copies = []
    for parent in ("a", "b"):
        folder = tmp_path / parent / "set"
        folder.mkdir(parents=True)
        copies.append(shutil.copy(recorded["squat"][2], folder / "clip.mp4"))
    plots = tmp_path / "plots"
    result = run_classify(*copies, "--run", pose_run, "--reps", "--no-reject", "--json", "--reps-plot", plots)
    assert result.returncode == 0, result.stderr[-2000:]
    written = [r["repetitions"].get("plot") for r in json.loads(result.stdout)["results"]]
    assert all(written) and len(set(written)) == 2 and all(Path(p).is_file() for p in written)
