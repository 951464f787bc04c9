"""Where "unknown" begins: a threshold set from out-of-fold predictions of the training videos (cross-fitting).

A threshold set on a run's own validation videos rests on a dozen or two
clips (and the heads early-stopped on them); one set on the training videos'
predictions by the final heads is too high, because the heads have seen
those videos. Cross-fitting gives every training video a prediction from
heads that never saw its group: the training videos are split into
`calibration_folds` grouped folds, the heads train again on all but one
(seconds, on cached features) and predict the one left out. The threshold
is the exercise score `accept_rate` of the out-of-fold exercise videos reach
(`operating_point = "accept_rate"`, the default: exercises first), or, with
negatives among them and `operating_point = "balanced"`, the score that best
separates the out-of-fold exercises from the out-of-fold negatives
(exercises accepted minus negatives accepted). The same predictions give the
share of real exercises the rule refuses and of negatives it accepts.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Mapping, Sequence

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from toolkit.temporal.heads import build_vote_head
from toolkit.training.features import clip_arrays, frame_arrays
from toolkit.training.heads import evidence_frames, fit_frame_head, fit_sequence_head, predict_arrays
from workout_runtime.verdicts import OPERATING_POINTS, RejectionRule, exercise_scores


@dataclasses.dataclass
class OutOfFold:
    """Predictions of heads that never saw the video's group.

    Attributes:
        clips: per aggregator, `(V, K)` probabilities of the training videos.
        labels: `(V,)` their classes.
        evidence: `(V,)` frames with evidence per video (of `num_frames`).
        frames: `(N, K)` frame-head probabilities of training frames with evidence.
        frame_labels: `(N,)` their classes.
        folds: the number of folds used.
    """

    clips: dict[str, np.ndarray]
    labels: np.ndarray
    evidence: np.ndarray
    frames: np.ndarray
    frame_labels: np.ndarray
    folds: int


def out_of_fold_predictions(train_rows: Sequence[Mapping], features: Mapping[str, np.ndarray],
                            validation: Mapping | None, class_names: Sequence[str], config, aggregators: Sequence[str],
                            exclude, pose_features: bool) -> OutOfFold | None:
    """Every training video predicted by heads trained without its group; None with fewer than 2 groups.

    Args:
        train_rows: the run's training rows.
        features: cached encoder features by frame path.
        validation: the run's validation frames and clips ({"frames", "clips"}) for early stopping, or None.
        class_names: the run's classes.
        config: the run's config (`calibration_folds`, head settings).
        aggregators: the sequence aggregators to cross-fit besides voting.
        exclude, pose_features: as for the run's own heads.
    """
    num_classes, num_frames = len(class_names), config.frames_per_video
    clips = clip_arrays(train_rows, features, class_names, num_frames)
    groups = clips["groups"]
    folds = min(int(config.calibration_folds), len(np.unique(groups)))
    if folds < 2:
        return None
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=config.seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a class with fewer groups than folds
        splits = list(splitter.split(np.zeros(len(groups)), clips["labels"], groups))
    video_of_row = np.asarray([r["video_id"] for r in train_rows])
    out_clips = {a: np.zeros((len(groups), num_classes), np.float32) for a in ("vote", *aggregators)}
    frame_probabilities, frame_labels = [], []
    for inner_train, inner_test in splits:
        held_out = set(clips["video_ids"][inner_test])
        in_test = np.isin(video_of_row, list(held_out))
        fit_rows = [r for r, t in zip(train_rows, in_test) if not t]
        test_rows = [r for r, t in zip(train_rows, in_test) if t]
        fit_frames = frame_arrays(fit_rows, features, class_names)
        if len(np.unique(fit_frames["labels"])) < 2:
            continue  # too few groups to learn anything without these; leaves zeros (counted as refused)
        frame_head = fit_frame_head(fit_frames, validation["frames"] if validation else None, num_classes, config,
                                    exclude)
        test_clips = clips["features"][inner_test]
        out_clips["vote"][inner_test] = predict_arrays(build_vote_head(frame_head, num_frames, config.vote_method),
                                                       test_clips)
        x, y = evidence_frames(frame_arrays(test_rows, features, class_names))
        frame_probabilities.append(predict_arrays(frame_head, x))
        frame_labels.append(y)
        fit_clips = {k: v[inner_train] for k, v in clips.items()}
        for aggregator in aggregators:
            head = fit_sequence_head(aggregator, fit_clips, validation["clips"] if validation else None, num_classes,
                                     config, pose_features)
            out_clips[aggregator][inner_test] = predict_arrays(head, test_clips)
    evidence = np.any(clips["features"] != 0, axis=-1).sum(axis=1)
    return OutOfFold(out_clips, clips["labels"], evidence,
                     np.concatenate(frame_probabilities) if frame_probabilities else np.zeros((0, num_classes)),
                     np.concatenate(frame_labels) if frame_labels else np.zeros((0,), np.int32), folds)


def wilson_interval(successes: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """The 95 % Wilson score interval of a proportion (sensible at 0 and at small counts)."""
    if total == 0:
        return 0.0, 1.0
    p = successes / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, centre - half), min(1.0, centre + half)


def balanced_threshold(exercise: np.ndarray, negative: np.ndarray) -> float | None:
    """The threshold that maximises (exercises accepted) - (negatives accepted) (Youden's J), the lowest of ties.

    None without scores on both sides.
    """
    if not len(exercise) or not len(negative):
        return None
    candidates = np.unique(np.r_[exercise, negative])
    gain = [(exercise >= t).mean() - (negative >= t).mean() for t in candidates]
    return float(candidates[int(np.argmax(gain))])


def calibrate_rule(probabilities: np.ndarray, labels: np.ndarray, evidence: np.ndarray, num_frames: int,
                   accept_rate: float, other_class: int | None, score: str, min_evidence: float = 0.25,
                   operating_point: str = "accept_rate") -> tuple[RejectionRule, dict]:
    """The rule for `probabilities` (out-of-fold predictions), and what it does to them.

    Operating points: "accept_rate" accepts `accept_rate` of the exercise videos (refusing the rest, however many
    negatives that lets through); "balanced" (needs negatives among them; else "accept_rate") maximises
    exercises accepted minus negatives accepted. Both thresholds are returned, whichever is used.

    Returns:
        The rule, and {"threshold", "operating_point", "threshold_accept_rate", "threshold_balanced",
        "calibrated_on", "exercises_refused" with its 95 % interval, and with an "other" class
        "negatives" and "negatives_accepted"}.
    """
    probabilities, labels, evidence = np.asarray(probabilities), np.asarray(labels), np.asarray(evidence)
    exercise = labels != other_class if other_class is not None else np.ones(len(labels), bool)
    seen = evidence >= max(1.0, min_evidence * num_frames)
    scores = exercise_scores(probabilities, other_class, score) if len(probabilities) else np.zeros(0)
    usable = scores[exercise & seen]
    by_rate = float(np.quantile(usable, 1.0 - accept_rate)) if len(usable) else None
    # A negative without a body is refused whatever the threshold: only the others need one.
    balanced = balanced_threshold(usable, scores[~exercise & seen])
    if operating_point not in OPERATING_POINTS:
        raise ValueError(f"Received: operating_point={operating_point!r}; expected one of {list(OPERATING_POINTS)}")
    if operating_point == "balanced" and balanced is None:
        operating_point = "accept_rate"  # no negatives to balance against
    threshold = balanced if operating_point == "balanced" else by_rate
    rule = RejectionRule(threshold, min_evidence, other_class, score)
    refused = np.array([rule.judge(p, int(e), num_frames) is not None for p, e in zip(probabilities, evidence)],
                       dtype=bool)
    n_exercise = int(exercise.sum())
    low, high = wilson_interval(int(refused[exercise].sum()), n_exercise)
    stats = {"threshold": threshold, "operating_point": operating_point, "threshold_accept_rate": by_rate,
             "threshold_balanced": balanced, "calibrated_on": int(len(usable)),
             "exercises_refused": float(refused[exercise].mean()) if n_exercise else None,
             "exercises_refused_interval": [round(low, 4), round(high, 4)]}
    if other_class is not None:
        negatives = ~exercise
        stats["negatives"] = int(negatives.sum())
        stats["negatives_accepted"] = float((~refused[negatives]).mean()) if negatives.any() else None
    return rule, stats
