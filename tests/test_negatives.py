"""Negatives as an explicit "other" class: folders checked, split by source, learnt, calibrated, never named."""

import csv
import json
import shutil

import numpy as np
import pytest

from toolkit.config import Config
from toolkit.data.manifest import read_manifest
from toolkit.data.negatives import NEGATIVE_GROUP_PREFIX, negative_rows
from toolkit.data.sources import add_negatives, load_dataset
from toolkit.data.splits import check_no_leakage, split_manifest
from toolkit.data.synthetic import SyntheticConfig, generate_dataset
from toolkit.data.synthetic_motion import NON_EXERCISES
from toolkit.errors import DatasetError
from toolkit.evaluation import cross_validation
from toolkit.evaluation.evaluate import models_of, score_run
from toolkit.temporal.inference import VideoClassifier
from toolkit.training.trainer import train_run
from workout_runtime.repetitions import counting_label
from workout_runtime.verdicts import OTHER, UNKNOWN, VideoPrediction


@pytest.fixture(scope="module")
def negative_videos(tmp_path_factory):
    """The synthetic non-exercise motions (walking, waving, standing, an empty room), 2 performers each."""
    out = tmp_path_factory.mktemp("negatives")
    generate_dataset(out, SyntheticConfig(classes=tuple(NON_EXERCISES), videos_per_class=2, num_performers=4,
                                          max_duration_s=3, resolutions=((160, 120),), fps_choices=(10,),
                                          seed=5), num_workers=1, progress=False)
    # Other people than the exercises' performers, who are also named performer_NN.
    with open(out / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    _write(out / "manifest.csv", [dict(r, group=f"walker_{r['group']}") for r in rows], list(rows[0]))
    return out


@pytest.fixture(scope="module")
def joined(synthetic_frames, negative_videos, tmp_path_factory):
    frames = tmp_path_factory.mktemp("frames")
    shutil.copytree(synthetic_frames, frames, dirs_exist_ok=True)
    return add_negatives(load_dataset(frames), negative_videos, 4, progress=False)


def test_negatives_join_as_other_with_groups_of_their_own(joined):
    negatives = [r for r in joined.rows if r["label"] == OTHER]
    assert negatives and all(r["group"].startswith(NEGATIVE_GROUP_PREFIX) for r in negatives)
    assert all(r["video_id"].startswith(f"{OTHER}/") for r in negatives)
    assert "negative videos" in " ".join(joined.summary())
    subsets = split_manifest(joined.rows, 0.2, 0.3, seed=0)
    check_no_leakage([r["group"] for r in joined.rows], subsets)
    # The run records where the negatives' frames are, so evaluate.py reads the same rows again.
    again = load_dataset(**joined.describe())
    assert len(again.rows) == len(joined.rows)


def _write(path, rows, columns):
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def test_bad_negatives_folders_are_refused_with_the_fix(negative_videos, synthetic_frames, tmp_path):
    exercise_rows = read_manifest(synthetic_frames)
    with pytest.raises(DatasetError, match="was not found"):
        negative_rows(tmp_path / "missing", tmp_path / "frames", 4)
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    with pytest.raises(DatasetError, match="holds no video"):
        negative_rows(tmp_path / "empty", tmp_path / "frames", 4)
    unlabelled = tmp_path / "unlabelled"
    shutil.copytree(negative_videos, unlabelled)
    (unlabelled / "manifest.csv").unlink()
    with pytest.raises(DatasetError, match="no manifest.csv"):
        negative_rows(unlabelled, tmp_path / "frames", 4)
    # A negative that shares its source with exercises.
    clash = tmp_path / "clash"
    shutil.copytree(negative_videos, clash)
    with open(clash / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    rows[0]["group"] = exercise_rows[0]["group"]
    _write(clash / "manifest.csv", rows, list(rows[0]))
    with pytest.raises(DatasetError, match="share groups with the exercise videos"):
        negative_rows(clash, tmp_path / "frames", 4, exercise_rows)
    named_other = [dict(r, label=OTHER) for r in exercise_rows[:4]]
    with pytest.raises(DatasetError, match="class named 'other'"):
        negative_rows(negative_videos, tmp_path / "frames", 4, named_other)
    images = load_dataset(frames=synthetic_frames)
    images.unit = "images"
    with pytest.raises(DatasetError, match="applies to video runs"):
        add_negatives(images, negative_videos, 4)


def test_a_run_with_negatives_learns_other_calibrates_out_of_fold_and_never_names_it(joined, negative_videos,
                                                                                     tmp_path):
    config = Config(model_name="efficientnet_lite0", image_size=96, frames_per_video=4, head_epochs=10,
                    early_stopping_patience=10, frame_head_units=16, lstm_units=8, transformer_units=8,
                    calibration_folds=2, accept_rate=0.9, seed=0).validate()
    subsets = split_manifest(joined.rows, 0.2, 0.3, seed=0)
    trained = train_run(config, joined.rows, subsets, tmp_path / "run", progress=False, log=lambda _: None)
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["class_names"][-1] == OTHER
    for entry in info["aggregators"].values():
        assert entry["other_class"] == len(info["class_names"]) - 1 and entry["score"] == "exercise_probability"
        assert entry["calibration"].startswith("out-of-fold predictions")
        assert 0 <= entry["exercises_refused"] <= 1 and entry["negatives"] > 0
    assert OTHER not in info["repetitions"]
    # Scores: exercise accuracy over the exercises only, and what "unknown" does to both sides.
    test_rows = [r for r, s in zip(joined.rows, subsets) if s == "test"]
    reports = score_run(models_of(trained), test_rows, trained.features, ("mean",))
    assert OTHER not in reports["video_mean"]["class_names"]
    rejection = reports["video_mean"]["rejection"]
    assert set(rejection["auroc"]) == {"max_probability", "exercise_probability"}
    assert rejection["negatives"] == len({r["video_id"] for r in test_rows if r["label"] == OTHER})
    # Through the saved model: a negative's verdict is an exercise or "unknown", never "other".
    for aggregator in ("vote", "lstm"):
        classifier = VideoClassifier.from_run(tmp_path / "run", aggregator)
        for video in sorted(negative_videos.rglob("*.mp4"))[:3]:
            verdict = classifier.classify(video)
            assert verdict.label != OTHER and verdict.top_label != OTHER
            assert verdict.label == UNKNOWN or verdict.label in info["class_names"][:-1]


def _verdict(label, top, evidence=4, reason=None):
    return VideoPrediction("v", label, 0.5, {top: 0.5}, 4, evidence, top, reason)


def test_counting_is_never_silently_dropped_when_the_verdict_is_doubtful():
    label, unconfirmed = counting_label([_verdict("squat", "squat")])
    assert (label, unconfirmed) == ("squat", None)
    doubtful = [_verdict(UNKNOWN, "squat", reason="low confidence"), _verdict(UNKNOWN, "lunge", reason="x"),
                _verdict(UNKNOWN, "squat", reason="low confidence")]
    assert counting_label(doubtful) == ("squat", "low confidence")
    nobody = [_verdict(UNKNOWN, "squat", evidence=0, reason="too little evidence")]
    assert counting_label(nobody) == (None, None)


def test_a_fold_is_reused_only_under_the_settings_it_was_made_with(joined, tmp_path, monkeypatch):
    rows = joined.rows
    subsets = split_manifest(rows, 0.2, 0.3, seed=0)
    config = Config(model_name="custom_cnn", frames_per_video=4).validate()
    key = cross_validation.fold_key(config, rows, subsets, ("mean",), ("vote",))
    assert key != cross_validation.fold_key(config.replace(model_name="efficientnet_lite0"), rows, subsets,
                                            ("mean",), ("vote",))
    assert key != cross_validation.fold_key(config, rows, np.roll(subsets, 1), ("mean",), ("vote",))
    fold = tmp_path / "fold"
    fold.mkdir()
    (fold / cross_validation.FOLD_REPORT).write_text(json.dumps({"key": key, "reports": {"video_mean": "saved"}}))

    def no_training(*args, **kwargs):
        raise RuntimeError("trained again")

    monkeypatch.setattr(cross_validation, "train_run", no_training)
    assert cross_validation.run_fold(config, rows, subsets, fold, ("mean",), ("vote",)) == {"video_mean": "saved"}
    with pytest.raises(RuntimeError, match="trained again"):
        cross_validation.run_fold(config.replace(model_name="efficientnet_lite0"), rows, subsets, fold, ("mean",),
                                  ("vote",))
    (fold / cross_validation.FOLD_REPORT).write_text(json.dumps({"video_mean": "an old fold without a key"}))
    with pytest.raises(RuntimeError, match="trained again"):
        cross_validation.run_fold(config, rows, subsets, fold, ("mean",), ("vote",))


def test_the_other_score_without_negatives_is_refused_naming_the_fix():
    from toolkit.config import ConfigError

    with pytest.raises(ConfigError, match="needs a run that learnt an 'other' class"):
        Config(rejection_score="exercise_probability").validate()
    assert Config(rejection_score="exercise_probability", negatives="negatives").validate()
    with pytest.raises(ConfigError, match="rejection_score"):
        Config(rejection_score="energy").validate()


def test_a_person_gate_goes_on_a_frozen_pretrained_pixel_encoder_only():
    from toolkit.config import ConfigError

    assert Config(model_name="efficientnet_lite0", person_gate="movenet_thunder").validate()
    for bad in (dict(model_name="movenet_lightning", person_gate="movenet_thunder"),
                dict(model_name="custom_cnn", person_gate="movenet_lightning"),
                dict(model_name="efficientnet_lite0", person_gate="movenet_lightning", fine_tune_epochs=2)):
        with pytest.raises(ConfigError, match="person_gate"):
            Config(**bad).validate()
    with pytest.raises(ConfigError, match="person_gate"):
        Config(person_gate="yolo").validate()


def test_the_apps_chart_draws_the_threshold_beside_chance_and_the_exercise_score():
    import importlib.util
    from pathlib import Path

    from workout_runtime.verdicts import RejectionRule, make_verdict

    pytest.importorskip("matplotlib")
    spec = importlib.util.spec_from_file_location("serve", Path(__file__).resolve().parents[1] / "recipes" / "serve.py")
    serve = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(serve)
    classes = ["squat", "lunge", OTHER]
    rule = RejectionRule(0.6, 0.25, 2, "exercise_probability")
    verdict = make_verdict("clip.mp4", np.array([0.45, 0.1, 0.45]), classes, 16, 16, rule)
    assert verdict.label == UNKNOWN
    figure = serve.probability_figure({"verdict": verdict, "rule": rule}, classes)
    axis = figure.axes[0]
    labels = [t.get_text() for t in axis.get_legend().get_texts()]
    assert "chance (uniform)" in labels and any("needed to accept (0.60)" in t for t in labels)
    assert "exercise (1 - other)" in [t.get_text() for t in axis.get_yticklabels()]
    assert "not an exercise" not in verdict.unknown_reason and "1 - other" in verdict.unknown_reason
