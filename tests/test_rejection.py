""""Unknown": verdicts that carry their evidence and refuse what the run was not trained on."""

import numpy as np
import pytest

from conftest import MOVENET
from toolkit.config import Config
from toolkit.data.manifest import read_manifest
from toolkit.data.splits import split_manifest
from toolkit.data.synthetic import SyntheticConfig, generate_dataset
from toolkit.evaluation.rejection import confidence_scores, rejection_report
from toolkit.temporal.inference import VideoClassifier
from toolkit.training.calibration import calibrate_rule, wilson_interval
from toolkit.training.trainer import train_run
from workout_runtime.verdicts import OTHER, UNKNOWN, RejectionRule, make_verdict, rule_from_info


def test_rule_judges_evidence_then_confidence():
    rule = RejectionRule(threshold=0.6, min_evidence=0.25)
    classes = ["squat", "lunge"]
    assert make_verdict("a", np.array([0.9, 0.1]), classes, 16, 16, rule).label == "squat"
    low = make_verdict("a", np.array([0.55, 0.45]), classes, 16, 16, rule)
    assert low.label == UNKNOWN and low.top_label == "squat" and "below the calibrated 0.600" in low.unknown_reason
    empty = make_verdict("a", np.array([0.9, 0.1]), classes, 16, 3, rule)
    assert empty.label == UNKNOWN and "3 of 16 sampled frames" in empty.unknown_reason
    assert make_verdict("a", np.array([0.55, 0.45]), classes, 16, 16, RejectionRule(None, 0.0)).label == "squat"


def test_threshold_accepts_the_chosen_share_of_exercise_videos():
    probabilities = np.array([[p, 1 - p] for p in np.linspace(0.5, 1.0, 101)])
    rule, stats = calibrate_rule(probabilities, np.zeros(101, int), np.full(101, 16), 16, 0.95, None,
                                 "max_probability")
    assert np.mean(probabilities.max(1) >= rule.threshold) == pytest.approx(0.95, abs=0.011)
    assert stats["exercises_refused"] == pytest.approx(0.05, abs=0.011)
    low, high = stats["exercises_refused_interval"]
    assert low < stats["exercises_refused"] < high
    empty, _ = calibrate_rule(np.zeros((0, 2)), np.zeros(0, int), np.zeros(0), 16, 0.95, None, "max_probability")
    assert empty.threshold is None


def test_the_other_class_refuses_and_is_never_named():
    classes = ["squat", "lunge", OTHER]
    rule = RejectionRule(threshold=0.7, min_evidence=0.25, other_class=2, score="exercise_probability")
    other = make_verdict("a", np.array([0.2, 0.1, 0.7]), classes, 16, 16, rule)
    assert other.label == UNKNOWN and other.top_label == "squat" and "not an exercise" in other.unknown_reason
    doubtful = make_verdict("a", np.array([0.4, 0.25, 0.35]), classes, 16, 16, rule)
    assert doubtful.label == UNKNOWN and doubtful.top_label == "squat" and "1 - other" in doubtful.unknown_reason
    assert make_verdict("a", np.array([0.7, 0.1, 0.2]), classes, 16, 16, rule).label == "squat"
    # Without rejection the top class named is still an exercise.
    accept = rule_from_info({"other_class": 2, "threshold": 0.5}, reject=False)
    assert make_verdict("a", np.array([0.2, 0.1, 0.7]), classes, 16, 16, accept).label == "squat"


def test_other_class_rule_calibrates_on_exercises_and_reports_negatives():
    rng = np.random.default_rng(0)
    exercise = rng.dirichlet([8, 1, 1], 200)
    negative = rng.dirichlet([1, 1, 8], 100)
    labels = np.r_[np.zeros(200, int), np.full(100, 2)]
    rule, stats = calibrate_rule(np.r_[exercise, negative], labels, np.full(300, 16), 16, 0.97, 2,
                                 "exercise_probability")
    assert stats["calibrated_on"] == 200 and stats["exercises_refused"] <= 0.05
    assert stats["negatives"] == 100 and stats["negatives_accepted"] < 0.2


def test_refusal_names_distinct_numbers():
    reason = RejectionRule(threshold=0.32612).judge(np.array([0.32571, 0.3, 0.3]), 1, 1)
    assert reason is not None and "0.3257 is below the calibrated 0.3261" in reason, reason
    assert wilson_interval(0, 10)[0] == 0.0 and 0.25 < wilson_interval(0, 10)[1] < 0.35


def test_rejection_report_measures_separation():
    inside, outside = np.linspace(0.6, 1.0, 50), np.linspace(0.2, 0.7, 50)
    report = rejection_report(inside, outside, 0.65)
    assert 0.9 < report["auroc"] < 1.0 and report["accepted_in_distribution"] == pytest.approx(0.88, abs=0.03)
    assert 0 < report["false_accept"] < 0.2
    scores = confidence_scores(np.array([[0.5, 0.5], [1.0, 0.0]]))
    assert scores["max_probability"].tolist() == [0.5, 1.0] and scores["negative_entropy"][1] > scores[
        "negative_entropy"][0]


@pytest.mark.parametrize("model_name, person_gate", [("movenet_lightning", None),
                                                     ("efficientnet_lite0", "movenet_lightning")])
def test_an_empty_room_and_noise_come_back_unknown_and_trained_clips_do_not(model_name, person_gate, synthetic_frames,
                                                                            synthetic_videos, tmp_path):
    """No body, no verdict: for pose runs, and for pixel runs behind a person gate."""
    if not (MOVENET / "movenet-lightning.json").is_file():
        pytest.skip("MoveNet models absent from ../shared/models")
    rows = read_manifest(synthetic_frames)
    subsets = split_manifest(rows, 0.25, 0.25, seed=0)
    config = Config(model_name=model_name, person_gate=person_gate, image_size=96,
                    pose_model_dir=str(MOVENET), frames_per_video=4, head_epochs=40,
                    early_stopping_patience=40, frame_head_units=16, learning_rate=5e-3, seed=0).validate()
    train_run(config, rows, subsets, tmp_path / "run", aggregators=("vote",), progress=False, log=lambda _: None)
    classifier = VideoClassifier.from_run(tmp_path / "run", "vote")
    generate_dataset(tmp_path / "negatives", SyntheticConfig(classes=("empty_scene",), videos_per_class=2,
                                                             num_performers=2, max_duration_s=2, seed=9),
                     num_workers=1, progress=False)
    for video in sorted((tmp_path / "negatives").rglob("*.mp4")):
        verdict = classifier.classify(video)
        assert verdict.label == UNKNOWN and verdict.frames_with_evidence == 0, verdict
    noise = np.random.default_rng(0).integers(0, 256, (4, 120, 160, 3)).astype(np.uint8)
    assert classifier.classify_frames(noise).label == UNKNOWN
    trained = sorted({r["video_id"] for r, s in zip(rows, subsets) if s == "train"})
    verdicts = [classifier.classify(next(synthetic_videos.glob(f"{v}.*"))) for v in trained]
    assert np.mean([v.label != UNKNOWN for v in verdicts]) >= 0.5
    assert all(v.frames_with_evidence >= 3 for v in verdicts)  # MoveNet finds the synthetic figure


def test_with_negatives_the_threshold_balances_exercises_against_negatives():
    rng = np.random.default_rng(1)
    exercise = rng.dirichlet([8, 1, 1], 200)
    exercise[:10] = [0.2, 0.1, 0.7]  # a long tail of exercises that look like "other"
    negative = rng.dirichlet([1, 1, 6], 100)
    probabilities, labels = np.r_[exercise, negative], np.r_[np.zeros(200, int), np.full(100, 2)]
    evidence = np.full(300, 16)
    balanced, stats = calibrate_rule(probabilities, labels, evidence, 16, 0.97, 2, "exercise_probability",
                                     operating_point="balanced")
    lenient, lenient_stats = calibrate_rule(probabilities, labels, evidence, 16, 0.97, 2, "exercise_probability")
    assert stats["operating_point"] == "balanced" and lenient_stats["operating_point"] == "accept_rate"
    assert lenient.threshold <= balanced.threshold
    assert lenient_stats["exercises_refused"] <= 0.031 and lenient_stats["negatives_accepted"] > stats[
        "negatives_accepted"]
    gain = (1 - stats["exercises_refused"]) - stats["negatives_accepted"]
    assert gain >= (1 - lenient_stats["exercises_refused"]) - lenient_stats["negatives_accepted"]
