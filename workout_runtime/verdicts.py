"""From class probabilities to what a user reads: a verdict with its evidence, "unknown", timeline segments.

A classifier always has a top class; a verdict says whether to believe it.
`RejectionRule` answers "unknown" when:

* too few sampled frames carried evidence (for pose encoders: showed a body,
  i.e. a shoulder, a hip and enough confident joints), or
* the exercise score is below a threshold calibrated on out-of-fold
  predictions of the run's training videos (by default the level 97 % of
  real exercise videos reach). For a run that learnt an explicit "other"
  class from real non-exercise videos (`--negatives`) the score is
  1 - P(other) (the best of the scores compared in BENCHMARKS.md); else the
  top exercise probability. "other" being the most probable class is not
  a rule of its own: the calibrated threshold decides, so the share of real
  exercises refused is the one chosen.

The rule is data (`RejectionRule.to_dict`), recorded in `run.json` and in an
exported artifact's contract, so Keras, LiteRT and ONNX give the same verdict.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence

import numpy as np

UNKNOWN = "unknown"
# The class a run learns from non-exercise videos; never a verdict of its own.
OTHER = "other"
# The vocabulary a run and an exported model share.
AGGREGATORS = ("vote", "lstm", "transformer")
VOTE_METHODS = ("majority", "mean", "confidence")
# How much a clip looks like one of the trained exercises (higher: more).
REJECTION_SCORES = ("max_probability", "exercise_probability")
# Where the threshold goes: "accept_rate" refuses at most 1 - accept_rate of real exercises; "balanced" best
# separates them from negatives (toolkit.training.calibration).
OPERATING_POINTS = ("accept_rate", "balanced")


def _number(value: float, other: float) -> str:
    """`value` with enough decimals to differ from `other` in print ("0.3257 is below 0.3261")."""
    for digits in (3, 4, 5, 6):
        if f"{value:.{digits}f}" != f"{other:.{digits}f}":
            return f"{value:.{digits}f}"
    return f"{value:.6f}"


def exercise_scores(probabilities: np.ndarray, other_class: int | None = None,
                    score: str = "max_probability") -> np.ndarray:
    """Per row of `(N, K)` (or one `(K,)`) probabilities, how much it looks like a trained exercise.

    "max_probability": the top exercise class's probability; "exercise_probability": 1 - P(other) (the
    same as the first for a run without an "other" class).
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if score not in REJECTION_SCORES:
        raise ValueError(f"Received: score={score!r}; expected one of {list(REJECTION_SCORES)}")
    if other_class is None:
        return probabilities.max(axis=-1)
    if score == "exercise_probability":
        return 1.0 - probabilities[..., other_class]
    return np.delete(probabilities, other_class, axis=-1).max(axis=-1)


def top_exercise(probabilities: np.ndarray, other_class: int | None = None) -> int:
    """The index of the most probable class that is an exercise (never the "other" class)."""
    probabilities = np.array(probabilities, dtype=np.float64)
    if other_class is not None:
        probabilities[other_class] = -np.inf
    return int(np.argmax(probabilities))


@dataclasses.dataclass(frozen=True)
class RejectionRule:
    """When a verdict is "unknown".

    Attributes:
        threshold: the lowest exercise score accepted; None never rejects on
            the score.
        min_evidence: the share of sampled frames that must carry evidence.
        other_class: the index of the "other" (not an exercise) class, or None.
        score: "max_probability" or "exercise_probability" (see `exercise_scores`).
    """

    threshold: float | None = None
    min_evidence: float = 0.25
    other_class: int | None = None
    score: str = "max_probability"

    def judge(self, probabilities: np.ndarray, evidence_frames: int, frames: int,
              class_names: Sequence[str] = ()) -> str | None:
        """The reason to answer "unknown" for `(K,)` probabilities, or None to accept the top exercise."""
        if frames == 0 or evidence_frames < max(1.0, self.min_evidence * frames):
            return (f"too little evidence: {evidence_frames} of {frames} sampled frames showed a body"
                    if frames else "no frame could be sampled")
        if self.threshold is None:
            return None
        probabilities = np.asarray(probabilities, dtype=np.float64)
        value = float(exercise_scores(probabilities, self.other_class, self.score))
        if value >= self.threshold:
            return None
        if self.other_class is not None and int(np.argmax(probabilities)) == self.other_class:
            return (f"not an exercise: '{OTHER}' is the most probable class ({probabilities[self.other_class]:.1%}; "
                    f"exercise score {_number(value, self.threshold)}, the calibrated minimum "
                    f"{_number(self.threshold, value)})")
        what = "exercise probability (1 - other)" if self.score == "exercise_probability" and \
            self.other_class is not None else "top probability"
        return (f"low confidence: {what} {_number(value, self.threshold)} is below the calibrated "
                f"{_number(self.threshold, value)}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


ACCEPT_ALL = RejectionRule(threshold=None, min_evidence=0.0)


@dataclasses.dataclass(frozen=True)
class VideoPrediction:
    """The verdict on one video (or one window of it).

    Attributes:
        path: the video.
        label: the predicted class, or "unknown".
        confidence: the top class's probability.
        probabilities: every class's probability.
        frames_used: frames sampled (padding excluded).
        frames_with_evidence: of those, frames the encoder found usable (a
            body for pose encoders; every frame for pixel encoders).
        top_label: the top class, even when the verdict is "unknown".
        unknown_reason: why the verdict is "unknown", else None.
        start_s, end_s: the span of the video the verdict covers.
    """

    path: str
    label: str
    confidence: float
    probabilities: dict[str, float]
    frames_used: int
    frames_with_evidence: int
    top_label: str
    unknown_reason: str | None = None
    start_s: float = 0.0
    end_s: float = 0.0

    @property
    def unknown(self) -> bool:
        return self.unknown_reason is not None

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "unknown": self.unknown}


def make_verdict(path, probabilities: np.ndarray, class_names: Sequence[str], frames_used: int,
                 frames_with_evidence: int, rule: RejectionRule = ACCEPT_ALL, start_s: float = 0.0,
                 end_s: float = 0.0) -> VideoPrediction:
    """A `VideoPrediction` from `(K,)` probabilities and the evidence behind them.

    The top class named is always an exercise: with an "other" class, the best exercise besides it.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    best = top_exercise(probabilities, rule.other_class)
    reason = rule.judge(probabilities, frames_with_evidence, frames_used, class_names)
    return VideoPrediction(str(path), UNKNOWN if reason else class_names[best], float(probabilities[best]),
                           {c: float(p) for c, p in zip(class_names, probabilities)}, int(frames_used),
                           int(frames_with_evidence), class_names[best], reason, round(float(start_s), 3),
                           round(float(end_s), 3))


@dataclasses.dataclass(frozen=True)
class Segment:
    """A stretch of a video with one verdict (a class or "unknown")."""

    label: str
    start_s: float
    end_s: float
    confidence: float


def merge_windows(windows: Sequence[VideoPrediction], duration_s: float) -> list[Segment]:
    """Consecutive windows with one label become a segment; borders fall between window centres."""
    if not windows:
        return []
    centres = [(w.start_s + w.end_s) / 2 for w in windows]
    segments: list[Segment] = []
    for i, window in enumerate(windows):
        start = 0.0 if i == 0 else (centres[i - 1] + centres[i]) / 2
        end = duration_s if i == len(windows) - 1 else (centres[i] + centres[i + 1]) / 2
        if segments and segments[-1].label == window.label:
            last = segments[-1]
            segments[-1] = Segment(last.label, last.start_s, round(end, 3), max(last.confidence, window.confidence))
        else:
            segments.append(Segment(window.label, round(start, 3), round(end, 3), window.confidence))
    return segments


def rule_from_info(aggregator_info: Mapping, reject: bool = True) -> RejectionRule:
    """The rejection rule a run (or exported model) recorded for one aggregator.

    `reject=False` accepts every clip with a sampled frame, but still never names the "other" class.
    """
    other = aggregator_info.get("other_class")
    other = None if other is None else int(other)
    if not reject:
        return RejectionRule(None, 0.0, other)
    score = aggregator_info.get("score", "max_probability")
    if score not in REJECTION_SCORES:
        raise ValueError(f"Received: score={score!r} in a rejection rule; expected one of {list(REJECTION_SCORES)}")
    return RejectionRule(aggregator_info.get("threshold"), float(aggregator_info.get("min_evidence", 0.25)), other,
                         score)


def image_rule_from_info(aggregator_info: Mapping, reject: bool = True) -> RejectionRule:
    """The rule for single images: the frame head's own threshold, and the image must carry evidence."""
    rule = rule_from_info(aggregator_info, reject)
    if not reject:
        return rule
    return dataclasses.replace(rule, threshold=aggregator_info.get("frame_threshold"), min_evidence=1.0)
