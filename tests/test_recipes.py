"""End-to-end checks of the recipes on tiny synthetic data (each a few seconds of training)."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

ROOT = Path(__file__).resolve().parents[1]
# Thresholds from the validation videos (--calibration-folds 0): cross-fitting has tests of its own (test_negatives).
TINY = ["--model-name", "custom_cnn", "--weights", "none", "--image-size", "32", "--epochs", "1",
        "--batch-size", "16", "--frames-per-video", "4", "--head-epochs", "2", "--calibration-folds", "0",
        "--folds", "2", "--lstm-units", "8", "--transformer-units", "8"]


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
    run_recipe("train_video_classifier.py", "--frames", frames_dir, "--runs-dir", runs, "--name", "tiny", *TINY)
    return runs / "tiny"


RECIPES = sorted(p.name for p in (ROOT / "recipes").glob("*.py"))


@pytest.fixture(scope="module")
def recipe_helps():
    """Every recipe's `--help` (exit status, output), run as `__main__` in one interpreter: TensorFlow starts once,
    not once per recipe."""
    script = ("import contextlib, io, json, runpy, sys\n"
              "out = {}\n"
              "for name in sys.argv[1:]:\n"
              "    sys.argv, buffer, code = [name, '--help'], io.StringIO(), 'no exit'\n"
              "    with contextlib.redirect_stdout(buffer):\n"
              "        try:\n"
              "            runpy.run_path('recipes/' + name, run_name='__main__')\n"
              "        except SystemExit as exit:\n"
              "            code = exit.code\n"
              "    out[name] = [code, buffer.getvalue()]\n"
              "print(json.dumps(out))")
    result = subprocess.run([sys.executable, "-c", script, *RECIPES], capture_output=True, text=True, cwd=ROOT,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("recipe", RECIPES)
def test_every_recipe_has_help(recipe, recipe_helps):
    code, text = recipe_helps[recipe]
    assert code in (0, None) and "usage:" in text and "python recipes/" in text, (code, text[-500:])


def test_train_video_classifier_writes_every_artifact(trained_run):
    for name in ("vote.keras", "lstm.keras", "transformer.keras", "run.json", "class_names.json", "config.json",
                 "split.csv", "training_log.csv", "training_curves.png", "test_frame.json", "test_frame_confusion.png",
                 "test_video_mean.json", "test_video_lstm.json", "test_video_transformer.json"):
        assert (trained_run / name).is_file(), name
    config = json.loads((trained_run / "config.json").read_text())
    assert config["model_name"] == "custom_cnn" and config["image_size"] == 32
    report = json.loads((trained_run / "test_frame.json").read_text())
    assert 0.0 <= report["accuracy"] <= 1.0 and len(report["accuracy_ci95"]) == 2
    assert report["chance_uniform"] == pytest.approx(1 / 7) and 0 < report["chance_majority"] <= 1
    assert "chance:" in (trained_run / "test_video_mean.txt").read_text()
    with open(trained_run / "split.csv") as f:
        split = list(csv.DictReader(f))
    sides = {}
    for row in split:
        sides.setdefault(row["group"], set()).add(row["subset"])
    assert all(len(s) == 1 for s in sides.values())


def test_bad_config_value_stops_before_work_with_one_line(frames_dir, tmp_path):
    result = run_recipe("train_image_classifier.py", "--frames", frames_dir, "--runs-dir", tmp_path,
                        "--model-name", "vgg16", check=False)
    assert result.returncode == 2
    assert "model_name='vgg16'" in result.stderr and "efficientnet_lite0" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
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
    assert first["frames_used"] == 4 and first["frames_with_evidence"] == 4
    assert abs(sum(first["probabilities"].values()) - 1) < 1e-3
    assert first["top_label"] in first["probabilities"] and first["label"] in (first["top_label"], "unknown")
    text = run_recipe("classify_video.py", good, "--run", trained_run, "--no-reject").stdout
    assert "4 of 4 frames with evidence" in text


def _join_videos(paths, out, size=(160, 120), fps=10, fourcc="mp4v"):
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*fourcc), fps, size)
    for path in paths:
        capture = cv2.VideoCapture(str(path))
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            writer.write(cv2.resize(frame, size))
        capture.release()
    writer.release()


def test_classify_stream_on_a_file_prints_a_verdict_a_second_with_its_latency(trained_run, synthetic_videos, tmp_path):
    joined = tmp_path / "stream.mp4"
    _join_videos(sorted((synthetic_videos / "squat").glob("*.mp4"))[:3], joined)
    result = run_recipe("classify_stream.py", joined, "--run", trained_run, "--window", 2, "--stride", 1, "--jsonl",
                        "--fast")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    duration = cv2.VideoCapture(str(joined)).get(cv2.CAP_PROP_FRAME_COUNT) / 10
    assert abs(len(lines) - int(duration)) <= 1
    for line in lines:
        assert line["latency_s"] >= 0 and line["window_end_s"] - line["window_start_s"] <= 2.0 + 1e-6
        assert line["label"] in json.loads((trained_run / "class_names.json").read_text()) + ["unknown"]
    assert "verdicts in" in result.stderr and "latency median" in result.stderr


def test_classify_stream_ends_cleanly_when_its_source_stops_mid_way(trained_run, synthetic_videos, tmp_path):
    whole = tmp_path / "whole.avi"
    _join_videos(sorted((synthetic_videos / "squat").glob("*.mp4"))[:3], whole, fourcc="MJPG")
    cut = tmp_path / "cut.avi"
    data = whole.read_bytes()
    cut.write_bytes(data[:len(data) // 2])  # the recording stops half way
    result = run_recipe("classify_stream.py", cut, "--run", trained_run, "--stride", 0.5, "--fast")
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert "verdicts in" in result.stderr and result.stdout.count("latency") >= 1
    missing = run_recipe("classify_stream.py", tmp_path / "nothing.mp4", "--run", trained_run, check=False)
    assert missing.returncode == 2 and "nothing.mp4" in missing.stderr and "Traceback" not in missing.stderr


def test_counting_repetitions_on_a_pixel_run_names_what_it_needs(trained_run, synthetic_videos):
    video = sorted((synthetic_videos / "squat").glob("*.mp4"))[0]
    result = run_recipe("classify_video.py", video, "--run", trained_run, "--reps", check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "needs a pose run" in result.stderr and "movenet_lightning" in result.stderr


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


def test_train_image_classifier_on_an_image_folder(synthetic_videos, tmp_path):
    images = tmp_path / "photos"
    run_recipe("make_synthetic_dataset.py", "--out", tmp_path / "v", "--videos-per-class", 2, "--performers", 2,
               "--classes", "squat", "push_up", "--max-duration", 2, "--image-out", images, "--image-frames", 3)
    result = run_recipe("train_image_classifier.py", "--images", images, "--group-pattern", r"_(p\d+)_",
                        "--runs-dir", tmp_path / "runs", "--name", "photos", "--test-fraction", 0.3,
                        "--validation-fraction", 0.2, *TINY)
    assert "12 images in 2 classes" in result.stdout and "test image" in result.stdout
    assert "videos" not in result.stdout.split("split (images)")[1]
    run = tmp_path / "runs" / "photos"
    assert (run / "test_image.json").is_file() and not (run / "test_video_mean.json").exists()
    assert "(images)" in (run / "test_image.txt").read_text()
    photo = sorted(images.rglob("*.jpg"))[0]
    out = json.loads(run_recipe("classify_image.py", photo, "--run", run, "--json").stdout)
    assert out["results"][0]["top"][0]["label"] in ("squat", "push_up")
    evaluated = run_recipe("evaluate.py", "--run", run, "--out", tmp_path / "eval")
    assert "test image" in evaluated.stdout and (tmp_path / "eval" / "test_image_confusion.png").is_file()
    cv = run_recipe("cross_validate.py", "--images", images, "--group-pattern", r"_(p\d+)_", "--out",
                    tmp_path / "cv", *TINY)
    assert "| image | image |" in cv.stdout


def test_cross_validate_repeats_folds_and_writes_table(frames_dir, tmp_path):
    out = tmp_path / "cv"
    result = run_recipe("cross_validate.py", "--frames", frames_dir, "--out", out, "--repeats", 2, *TINY)
    with open(out / "summary.csv") as f:
        summary = {r["aggregator"]: r for r in csv.DictReader(f)}
    assert set(summary) == {"frame", "video_majority", "video_mean", "video_lstm", "video_transformer"}
    assert all(r["folds"] == "4" and r["repeats"] == "2" for r in summary.values())
    assert float(summary["video_mean"]["chance_uniform"]) == pytest.approx(1 / 7)
    markdown = (out / "summary.md").read_text()
    assert "| video_lstm | video |" in markdown and "x 2 fold seed(s)" in markdown and "repeat" in result.stdout
    assert "pixel audit: " in markdown and "pixel audit: " in result.stdout  # what the audit found, not a promise
    assert (out / "summary.png").is_file()
    for r in range(2):
        for k in range(2):
            with open(out / f"repeat_{r}" / f"fold_{k}" / "split.csv") as f:
                split = list(csv.DictReader(f))
            sides = {}
            for row in split:
                sides.setdefault(row["group"], set()).add(row["subset"])
            assert all(len(s) == 1 for s in sides.values())
            assert (out / f"repeat_{r}" / f"fold_{k}" / "test_video_mean_confusion.png").is_file()
    # The repeats drew different folds.
    splits = [(out / f"repeat_{r}" / "fold_0" / "split.csv").read_text() for r in range(2)]
    assert splits[0] != splits[1]


def test_quickstart_smoke_runs_end_to_end(tmp_path):
    result = run_recipe("quickstart.py", "--smoke", "--data", tmp_path / "data", "--run", tmp_path / "run")
    assert "Quick start finished" in result.stdout and "chance: 0.14 guessing" in result.stdout
    assert result.stdout.count("predicted") == 3 and "Next, on your own videos" in result.stdout
    for name in ("vote.keras", "lstm.keras", "transformer.keras", "split.csv", "test_video_mean.json"):
        assert (tmp_path / "run" / name).is_file(), name


def test_evaluate_recipe_on_test_split_and_other_folder(trained_run, frames_dir, tmp_path):
    result = run_recipe("evaluate.py", "--run", trained_run, "--out", tmp_path / "a")
    assert "test frame" in result.stdout and (tmp_path / "a" / "test_frame_confusion.png").is_file()
    assert "test video transformer" in result.stdout and "chance:" in result.stdout
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
    cut = tmp_path / "cut.jpg"
    data = images[0].read_bytes()
    cut.write_bytes(data[:len(data) // 2])
    result = run_recipe("classify_image.py", cut, "--run", trained_run, check=False)
    assert result.returncode == 1 and "cut.jpg" in result.stderr and "truncated" in result.stderr


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


def test_classify_video_with_each_aggregator(trained_run, synthetic_videos):
    video = sorted((synthetic_videos / "lunge").glob("*.mp4"))[0]
    for aggregator in ("vote", "lstm", "transformer"):
        document = json.loads(run_recipe("classify_video.py", video, "--run", trained_run, "--temporal", aggregator,
                                         "--json").stdout)
        assert document["model"].startswith(aggregator if aggregator != "vote" else "mean vote")
        assert document["results"][0]["frames_used"] == 4
