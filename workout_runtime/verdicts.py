"""From class probabilities to what a user reads: a verdict with its evidence, "unknown", timeline segments.

A classifier always has a top class; a verdict says whether to believe it.
`RejectionRule` answers "unknown" when the evidence is weak:

* too few sampled frames carried evidence (for pose encoders: showed a body,
  i.e. a shoulder, a hip and enough confident joints), or
* the top probability is below a threshold calibrated on the run's
  validation videos (by default the level 95 % of them reach), so inputs
  unlike anything trained on (boxing, walking, an empty room) are refused
  instead of being called "squats".
"""

from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence

import numpy as np

UNKNOWN = "unknown"
# The vocabulary a run and an exported model share.
AGGREGATORS = ("vote", "lstm", "transformer")
VOTE_METHODS = ("majority", "mean", "confidence")


@dataclasses.dataclass(frozen=True)
class RejectionRule:
    """When a verdict is "unknown".

    Attributes:
        threshold: the lowest top probability accepted; None never rejects on
            confidence.
        min_evidence: the share of sampled frames that must carry evidence.
    """

    threshold: float | None = None
    min_evidence: float = 0.25

    def judge(self, top_probability: float, evidence_frames: int, frames: int) -> str | None:
        """The reason to answer "unknown", or None to accept the top class."""
        if frames == 0 or evidence_frames < max(1.0, self.min_evidence * frames):
            return (f"too little evidence: {evidence_frames} of {frames} sampled frames showed a body"
                    if frames else "no frame could be sampled")
        if self.threshold is not None and top_probability < self.threshold:
            return (f"low confidence: top probability {top_probability:.3f} is below the calibrated "
                    f"{self.threshold:.3f}")
        return None


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
    """A `VideoPrediction` from `(K,)` probabilities and the evidence behind them."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    best = int(np.argmax(probabilities))
    reason = rule.judge(float(probabilities[best]), frames_with_evidence, frames_used)
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
    """The rejection rule a run (or exported model) recorded for one aggregator; `reject=False` accepts all."""
    if not reject:
        return ACCEPT_ALL
    return RejectionRule(aggregator_info.get("threshold"), float(aggregator_info.get("min_evidence", 0.25)))
