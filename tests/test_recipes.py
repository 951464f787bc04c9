"""End-to-end checks of the recipes on tiny synthetic data (each a few seconds of training)."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--model-name", "custom_cnn", "--weights", "none", "--image-size", "32", "--epochs", "1",
        "--batch-size", "16", "--frames-per-video", "4", "--lstm-epochs", "2", "--folds", "2"]


def run_recipe(name, *args, check=True):
    result = subprocess.run([sys.executable, str(ROOT / "recipes" / name), *map(str, args)],
                            capture_output=True, text=True, cwd=ROOT, timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"{name} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


@pytest.fixture(scope="module")
def frames_dir(synthetic_videos, tmp_path_factory):
    out = tmp_path_factory.mktemp("frames")
    run_recipe("extract_frames.py", "--videos", synthetic_videos, "--out", out, "--frames", 4, "--size", 48)
    return out


@pytest.fixture(scope="module")
def trained_run(frames_dir, tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    run_recipe("train_image_classifier.py", "--frames", frames_dir, "--runs-dir", runs, "--name", "tiny", *TINY)
    return runs / "tiny"


@pytest.mark.parametrize("recipe", sorted(p.name for p in (ROOT / "recipes").glob("*.py")))
def test_every_recipe_has_help(recipe):
    result = run_recipe(recipe, "--help")
    assert "usage:" in result.stdout and "python recipes/" in result.stdout


def test_train_image_classifier_writes_every_artifact(trained_run):
    for name in ("model.keras", "class_names.json", "config.json", "split.csv", "training_log.csv",
                 "training_curves.png", "test_frame.json", "test_frame_confusion.png", "test_video_mean.json"):
        assert (trained_run / name).is_file(), name
    config = json.loads((trained_run / "config.json").read_text())
    assert config["model_name"] == "custom_cnn" and config["image_size"] == 32
    report = json.loads((trained_run / "test_frame.json").read_text())
    assert 0.0 <= report["accuracy"] <= 1.0 and len(report["accuracy_ci95"]) == 2
    with open(trained_run / "split.csv") as f:
        split = list(csv.DictReader(f))
    sides = {}
    for row in split:
        sides.setdefault(row["group"], set()).add(row["subset"])
    assert all(len(s) == 1 for s in sides.values())


def test_bad_config_value_stops_before_work(frames_dir, tmp_path):
    result = run_recipe("train_image_classifier.py", "--frames", frames_dir, "--runs-dir", tmp_path,
                        "--model-name", "vgg16", check=False)
    assert result.returncode != 0
    assert "model_name='vgg16'" in result.stderr and "efficientnet_b0" in result.stderr
    assert not any(tmp_path.iterdir())


def test_classify_video_good_broken_and_json(trained_run, synthetic_videos, tmp_path):
    good = sorted((synthetic_videos / "squat").glob("*.mp4"))[0]
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00" * 1000)
    result = run_recipe("classify_video.py", good, broken, good, "--run", trained_run, "--json", check=False)
    assert result.returncode == 1  # one failure reported in the exit status
    document = json.loads(result.stdout)
    assert len(document["results"]) == 2 and len(document["failures"]) == 1
    assert document["failures"][0]["path"] == str(broken)
    first = document["results"][0]
    assert first["frames_used"] == 4
    assert abs(sum(first["probabilities"].values()) - 1) < 1e-3
    assert first["label"] in first["probabilities"]
    text = run_recipe("classify_video.py", good, "--run", trained_run).stdout
    assert "from 4 frames" in text


def _join_videos(paths, out, size=(160, 120), fps=10):
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    for path in paths:
        capture = cv2.VideoCapture(str(path))
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            writer.write(cv2.resize(frame, size))
        capture.release()
    writer.release()


def test_timeline_segments_a_joined_video(trained_run, synthetic_videos, tmp_path):
    joined = tmp_path / "workout.mp4"
    parts = sorted((synthetic_videos / "squat").glob("*.mp4"))[:2] + sorted((synthetic_videos / "push_up").glob("*.mp4"))[:2]
    _join_videos(parts, joined)
    result = run_recipe("classify_video.py", joined, "--run", trained_run, "--timeline", "--window", 1.0,
                        "--stride", 0.5, "--json")
    document = json.loads(result.stdout)["results"][0]
    windows, segments = document["windows"], document["segments"]
    assert len(windows) >= 4
    starts = [w["start_s"] for w in windows]
    assert starts == sorted(starts)
    # Segments tile the video without gaps, in order.
    assert segments[0]["start_s"] == 0.0
    for a, b in zip(segments, segments[1:]):
        assert a["end_s"] == pytest.approx(b["start_s"]) and a["label"] != b["label"]


def test_train_video_classifier_lstm_on_cached_features(trained_run, frames_dir):
    result = run_recipe("train_video_classifier.py", "--frames", frames_dir, "--frame-run", trained_run,
                        "--temporal", "lstm", *TINY)
    assert (trained_run / "lstm" / "video_model.keras").is_file()
    assert (trained_run / "lstm" / "test_video_lstm.json").is_file()
    assert "features of" in result.stdout
    # Second run: every video's features come from the cache.
    again = run_recipe("train_video_classifier.py", "--frames", frames_dir, "--frame-run", trained_run,
                       "--temporal", "lstm", *TINY)
    assert "(0 computed" in again.stdout


def test_cross_validate_two_folds_writes_table(frames_dir, tmp_path):
    out = tmp_path / "cv"
    run_recipe("cross_validate.py", "--frames", frames_dir, "--out", out, *TINY)
    with open(out / "summary.csv") as f:
        summary = {r["aggregator"]: r for r in csv.DictReader(f)}
    assert set(summary) == {"frame", "video_majority", "video_mean", "video_lstm"}
    assert all(r["folds"] == "2" for r in summary.values())
    assert "| video_lstm | video |" in (out / "summary.md").read_text()
    assert (out / "summary.png").is_file()
    for k in range(2):
        with open(out / f"fold_{k}" / "split.csv") as f:
            split = list(csv.DictReader(f))
        sides = {}
        for row in split:
            sides.setdefault(row["group"], set()).add(row["subset"])
        assert all(len(s) == 1 for s in sides.values())
        assert (out / f"fold_{k}" / "test_video_mean_confusion.png").is_file()


def test_quickstart_smoke_runs_end_to_end(tmp_path):
    result = run_recipe("quickstart.py", "--smoke", "--data", tmp_path / "data", "--run", tmp_path / "run")
    assert "Quick start finished" in result.stdout
    for name in ("model.keras", "split.csv", "test_video_mean.json", "lstm/video_model.keras"):
        assert (tmp_path / "run" / name).is_file(), name


def test_evaluate_recipe_on_test_split_and_other_folder(trained_run, frames_dir, tmp_path):
    result = run_recipe("evaluate.py", "--run", trained_run, "--out", tmp_path / "a")
    assert "test frame" in result.stdout and (tmp_path / "a" / "test_frame_confusion.png").is_file()
    result = run_recipe("evaluate.py", "--run", trained_run, "--frames", frames_dir, "--out", tmp_path / "b")
    report = json.loads((tmp_path / "b" / "external_video_majority.json").read_text())
    assert report["samples"] == len({p.parent.name for p in frames_dir.rglob("*.jpg")})


def test_classify_image_reports_top_k_and_skips_unreadable(trained_run, frames_dir, tmp_path):
    images = sorted(frames_dir.rglob("*.jpg"))[:3]
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    result = run_recipe("classify_image.py", *images, broken, "--run", trained_run, "--top-k", 2, "--json",
                        check=False)
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert len(document["results"]) == 3 and document["failures"][0]["path"] == str(broken)
    top = document["results"][0]["top"]
    assert len(top) == 2 and top[0]["probability"] >= top[1]["probability"]


def test_dataset_report_lists_unreadable_and_plots(synthetic_videos, tmp_path):
    videos = tmp_path / "videos"
    (videos / "squat").mkdir(parents=True)
    for path in sorted((synthetic_videos / "squat").glob("*.mp4"))[:2]:
        (videos / "squat" / path.name).write_bytes(path.read_bytes())
    (videos / "squat" / "zero.mp4").write_bytes(b"")
    result = run_recipe("dataset_report.py", "--videos", videos, "--out", tmp_path / "report")
    assert "2 readable videos, 1 unreadable" in result.stdout and "zero.mp4" in result.stdout
    for name in ("videos_per_class.png", "durations.png", "videos.csv", "unreadable.csv"):
        assert (tmp_path / "report" / name).is_file()


def test_video_classifier_vote_and_end_to_end_lstm(trained_run, frames_dir, synthetic_videos):
    run_recipe("train_video_classifier.py", "--frames", frames_dir, "--frame-run", trained_run, "--temporal", "vote",
               *TINY)
    assert (trained_run / "video_model.keras").is_file()
    run_recipe("train_video_classifier.py", "--frames", frames_dir, "--frame-run", trained_run, "--temporal", "lstm",
               "--end-to-end", *TINY)
    video = sorted((synthetic_videos / "lunge").glob("*.mp4"))[0]
    document = json.loads(run_recipe("classify_video.py", video, "--run", trained_run, "--temporal", "lstm",
                                     "--json").stdout)
    assert document["model"] == "LSTM" and document["results"][0]["frames_used"] == 4
