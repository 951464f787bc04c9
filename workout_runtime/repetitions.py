"""Counting repetitions in a pose sequence, and marking each one's start, turning point and end.

A repetition is one excursion of the body from its rest position to a turning
point and back: standing -> bottom of the squat -> standing; arms extended ->
chest to the floor -> arms extended. The counter follows the motion of the
whole body, reduced to one number per frame:

1. seven signals are read from the per-frame pose features (the 64 of
   `toolkit.models.pose_features`): the elbow, knee, hip and shoulder angles,
   the torso's tilt, the body's height in the frame and the wrists' height;
   frames without a body are interpolated over, and each signal is smoothed
   over a quarter of a second;
2. in their natural units (angles in half-turns, heights in torso lengths)
   their first principal component is the motion: for a squat mostly knees,
   hips and height, for a curl the elbows and wrists, without being told
   which (so it works for exercises no run was trained on). Dividing each
   signal by its usual range across a run's exercises was tried and made
   real counts worse (pushup_form sets: MAE 0.11 against 0.04);
3. that component is scaled to [0, 1] between its extremes within 4 s
   around each frame (so a drifting level, a camera that moves, does not
   hide repetitions), then between its 5th and 95th percentiles,
   turned so that the rest position (where the set starts and ends) is 0,
   and a repetition is counted each time it rises above 0.6 after having
   been below 0.4 and returns below 0.4 (hysteresis: noise around one level
   never counts); its start is where it left rest, its turning point the
   extreme in between, its end where it came back.

Measured on synthetic videos with the figure's true joints, this counts every
repetition (benchmarks/repetitions.py), while any single signal miscounts a
third of the exercises. Nothing is counted when the body moves less than a
third of what a repetition of that exercise moved in the run's training
videos, when no joint angle moves 18 degrees (a person standing still), or
when the verdict is "unknown". A periodic movement that is not an exercise
(walking on the spot, waving) would be counted if misread as one: the
classifier's "unknown" is what keeps it out.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence

import numpy as np

# Positions in the per-frame pose features (see toolkit.models.pose_features).
_ANGLES = 51  # elbows L/R, knees L/R, hips L/R, shoulders L/R, torso tilt
_CENTRE_Y, _SCALE = 61, 62
_WRISTS_Y = (2 * 9 + 1, 2 * 10 + 1)
SIGNALS = ("elbow_angle", "knee_angle", "hip_angle", "shoulder_angle", "torso_tilt", "body_height", "wrist_height")
LOW, HIGH = 0.4, 0.6
# A movement smaller than this share of the exercise's usual range is not a repetition.
MIN_RELATIVE_RANGE = 0.35
# Nor one where no signal moves this far (a tenth of a half-turn, 18 degrees of a joint, or a tenth of a torso
# length), learnt ranges or not: a still person's sway and a pose model's jitter stay well below it (synthetic
# standing figure: 0.012; the smallest synthetic exercise: 0.49).
MIN_SIGNAL_RANGE = 0.1
# A wrist is never further than this from the hips, in torso lengths.
WRIST_LIMIT = 3.0
# The motion is rescaled to [0, 1] between its lowest and highest value within this many seconds around each
# frame, so that a level that drifts (a camera that moves, a set filmed in parts) does not hide repetitions;
# a stretch that moves less than LOCAL_FLOOR of the usual local range is not stretched up to it (a pause).
LOCAL_WINDOW_S = 4.0
LOCAL_FLOOR = 0.3


@dataclasses.dataclass(frozen=True)
class Repetition:
    """One repetition, in seconds from the start of the sequence.

    `label` and `confidence` are the run's own verdict on this repetition's
    frames alone (for a form model: "push_up_wrong" for this one), when judged.
    """

    start_s: float
    turn_s: float
    end_s: float
    label: str | None = None
    confidence: float | None = None


@dataclasses.dataclass
class RepetitionCount:
    """The count, each repetition's times, and the signal it was read from (for plots).

    Attributes:
        count: whole repetitions found.
        repetitions: their start, turning point and end.
        signal: the signal's name (see `SIGNALS`), or None when nothing moved.
        values: the smoothed signal, one value per frame (empty without a body).
        times_s: each frame's time.
        reason: why nothing was counted, else None.
        unconfirmed: when the verdict was "unknown" but a body moved, why it was
            (the count is then on the top exercise, not a confirmed one); else None.
        exercise: the exercise whose usual range of motion was the yardstick.
    """

    count: int
    repetitions: list[Repetition]
    signal: str | None
    values: np.ndarray
    times_s: np.ndarray
    reason: str | None = None
    unconfirmed: str | None = None
    exercise: str | None = None

    def to_dict(self) -> dict:
        return {"count": self.count, "signal": self.signal, "reason": self.reason, "exercise": self.exercise,
                "unconfirmed": self.unconfirmed, "repetitions": [dataclasses.asdict(r) for r in self.repetitions]}


def _pair(features: np.ndarray, left: int, right: int) -> np.ndarray:
    """Mean of a left and a right value where seen (a value of exactly 0 means unseen)."""
    pair = features[:, [left, right]]
    seen = pair != 0
    return np.where(seen.any(1), (pair * seen).sum(1) / np.maximum(seen.sum(1), 1), np.nan)


def signal_values(features: np.ndarray, name: str) -> np.ndarray:
    """One candidate signal per frame from `(T, 64+)` pose features; NaN where it is unknown."""
    features = np.asarray(features, dtype=np.float64)
    body = np.any(features[:, :64] != 0, axis=1)
    if name in ("elbow_angle", "knee_angle", "hip_angle", "shoulder_angle"):
        first = _ANGLES + 2 * ("elbow_angle", "knee_angle", "hip_angle", "shoulder_angle").index(name)
        values = _pair(features, first, first + 1)
    elif name == "torso_tilt":
        values = np.where(features[:, _ANGLES + 8] != 0, features[:, _ANGLES + 8], np.nan)
    elif name == "body_height":
        # The body's centre in the frame, in body lengths (up is positive), as the heads' root motion.
        scale = np.median(features[body, _SCALE]) if body.any() else 1.0
        values = -features[:, _CENTRE_Y] / max(scale, 1e-3)
    elif name == "wrist_height":
        # Hip-centred, in torso lengths, up positive; clipped because a torso seen end-on measures almost
        # nothing and would blow the value up by a hundred.
        values = np.clip(-_pair(features, *_WRISTS_Y), -WRIST_LIMIT, WRIST_LIMIT)
    else:
        raise ValueError(f"Unknown signal. Received: name={name!r}; expected one of {list(SIGNALS)}")
    return np.where(body, values, np.nan)


def _prepare(values: np.ndarray, fps: float) -> np.ndarray | None:
    """NaNs interpolated over, a quarter-second moving average; None when fewer than 3 frames are known."""
    known = ~np.isnan(values)
    if known.sum() < 3:
        return None
    index = np.arange(len(values))
    filled = np.interp(index, index[known], values[known])
    width = max(1, int(round(fps * 0.25)))
    if width > 1:
        kernel = np.ones(width) / width
        filled = np.convolve(np.pad(filled, (width // 2, width - 1 - width // 2), mode="edge"), kernel, "valid")
    return filled


def signal_range(values: np.ndarray) -> float:
    """The signal's spread: 95th minus 5th percentile of the known values (0 without any)."""
    known = values[~np.isnan(values)]
    return float(np.percentile(known, 95) - np.percentile(known, 5)) if len(known) >= 3 else 0.0


def _rolling(values: np.ndarray, width: int, reduce) -> np.ndarray:
    """`reduce` (np.min or np.max) over a centred window of `width` frames, edges repeated."""
    padded = np.pad(values, (width // 2, width - 1 - width // 2), mode="edge")
    return reduce(np.lib.stride_tricks.sliding_window_view(padded, width), axis=1)


def local_scale(values: np.ndarray, fps: float) -> np.ndarray:
    """The signal rescaled between its local extremes over `LOCAL_WINDOW_S` (unchanged if shorter)."""
    width = int(round(LOCAL_WINDOW_S * fps)) | 1
    if len(values) <= width:
        return values
    low, high = _rolling(values, width, np.min), _rolling(values, width, np.max)
    spread = high - low
    return (values - low) / np.maximum(spread, LOCAL_FLOOR * np.median(spread) + 1e-9)


def count_in_signal(values: np.ndarray, fps: float, min_range: float = 0.0) -> tuple[list[tuple[int, int, int]], str | None]:
    """Repetitions in one smoothed signal as (start, turn, end) frame indices, or a reason why there are none."""
    low, high = np.percentile(values, 5), np.percentile(values, 95)
    if high - low <= max(min_range, 1e-6):
        return [], "no movement large enough for a repetition"
    values = local_scale(values, fps)
    low, high = np.percentile(values, 5), np.percentile(values, 95)
    z = np.clip((values - low) / (high - low), 0.0, 1.0)
    edge = max(1, len(z) // 10)
    if (z[:edge].mean() + z[-edge:].mean()) / 2 > 0.5:
        z = 1.0 - z  # rest is where the set starts and ends: make it 0
    repetitions, state, left_rest = [], "rest", None
    for i, value in enumerate(z):
        if state == "rest":
            if value < LOW:
                left_rest = i
            elif value > HIGH and left_rest is not None:
                state = "away"
        elif value < LOW:
            start, end = left_rest, i
            turn = start + int(np.argmax(z[start:end + 1]))
            if (end - start) / fps >= 0.3:  # shorter is a tremor, not a repetition
                repetitions.append((start, turn, end))
            state, left_rest = "rest", i
    return repetitions, None


def motion(features: np.ndarray, fps: float) -> np.ndarray | None:
    """The first principal component of the signals, one value per frame (None without a body)."""
    columns = []
    for name in SIGNALS:
        prepared = _prepare(signal_values(features, name), fps)
        if prepared is not None:
            columns.append(prepared - np.median(prepared))
    if not columns:
        return None
    matrix = np.stack(columns, axis=1)
    centred = matrix - matrix.mean(axis=0)
    u, singular, _ = np.linalg.svd(centred, full_matrices=False)
    return u[:, 0] * singular[0]


def learn_motion(sequences_by_class: Mapping[str, Sequence[np.ndarray]], fps: float = 4.0) -> dict:
    """What counting needs from a run's training videos: how far each exercise usually moves.

    Returns:
        {"classes": {class: the median over its videos of the motion's range
        (95th minus 5th percentile)}}.
    """
    classes = {}
    for label, sequences in sequences_by_class.items():
        ranges = [signal_range(m) for m in (motion(f, fps) for f in sequences) if m is not None]
        classes[label] = float(np.median(ranges)) if ranges else 0.0
    return {"classes": classes}


def count_repetitions(features: np.ndarray, fps: float, label: str | None = None,
                      learnt: Mapping | None = None) -> RepetitionCount:
    """Counts repetitions in a pose sequence.

    Args:
        features: `(T, 64+)` per-frame pose features (zero rows: no body).
        fps: frames per second of the sequence.
        label: the exercise, if known: its usual range of motion is the
            yardstick for "too small to be a repetition".
        learnt: what `learn_motion` learnt from a run's training videos
            (without it, no movement above `MIN_SIGNAL_RANGE` is too small).

    Returns:
        A `RepetitionCount` (signal "motion": the principal component).
    """
    features = np.asarray(features)
    times = np.arange(len(features)) / fps
    learnt = learnt or {}
    values = motion(features, fps)
    if values is None:
        return RepetitionCount(0, [], None, np.zeros(0), times, "no body in enough frames")
    largest = max((signal_range(v) for v in (_prepare(signal_values(features, n), fps) for n in SIGNALS)
                   if v is not None), default=0.0)
    if largest < MIN_SIGNAL_RANGE:
        return RepetitionCount(0, [], "motion", values, times, "no movement large enough for a repetition")
    # Runs trained before version 0.2 measured their ranges on rescaled signals ("scales"): not comparable.
    classes = {} if "scales" in learnt else learnt.get("classes", {})
    usual = classes.get(label) if label in classes else (float(np.median(list(classes.values()))) if classes else 0)
    moved = signal_range(values)
    if usual and moved < MIN_RELATIVE_RANGE * usual:
        return RepetitionCount(0, [], "motion", values, times, f"the body barely moves ({moved / usual:.0%} of a "
                                                                f"repetition's usual range)")
    found, reason = count_in_signal(values, fps)
    repetitions = [Repetition(round(float(times[s]), 3), round(float(times[t]), 3), round(float(times[e]), 3))
                   for s, t, e in found]
    return RepetitionCount(len(repetitions), repetitions, "motion", values, times, reason)
