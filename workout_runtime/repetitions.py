"""Counting repetitions in a pose sequence, and marking each one's start, turning point and end.

A repetition is one excursion of the body from its rest position to a turning
point and back: standing -> bottom of the squat -> standing; hanging -> chin
over the bar -> hanging. The counter follows the motion of the whole body,
reduced to one number per frame:

1. six signals are read from the per-frame pose features (laid out as
   `workout_runtime.pose_layout` says): the elbow, knee, hip and shoulder
   angles, the torso's tilt and the wrists' height from the hips; frames
   without a body are interpolated over. The body's height in the frame is a
   seventh, left out by default: it moves with the camera (a pan, a cut) as
   much as with the body;
2. the motion is the clip's own first principal component of the signals,
   its direction taken from their changes within a few seconds, so a slow
   change of posture (a rest in a pike between push-up bursts) weighs less
   than the repetitions; it is turned so that bending the elbows, knees and
   hips is up (the turning point of every exercise measured here is where
   the joints bend most), never by where the clip starts or ends;
3. the signals are averaged over half a second before that (a pose
   model's jitter), and the motion is rescaled between its extremes within
   4 s around each frame (a drifting level does not hide repetitions) and
   between its 5th and 95th percentiles;
4. the turning points are the peaks of a zig-zag: a peak counts when the
   motion rose at least `CountSettings.swing` to it and falls that much
   after it, so a rest that is not still (a swinging hang) is not a
   repetition. A peak the clip ends on counts when the motion rose
   `end_swing` to it (the body reached it inside the clip); one the clip
   starts on does not.

Each repetition's start and end are the lowest points (rest) before and after
its turning point. Every setting in `CountSettings` was chosen by
leave-one-source-out over 77 hand-counted workout4 clips of four exercises and
22 sources (benchmarks/repetitions.py workout4); the defaults are the same
choice made on all of them. Tried and measured worse on held-out sources: an
exercise's signal combination learnt from a run's training clips, an average
over a share of the motion's own period (from its autocorrelation), and pose
jumps or colour histograms as cut detectors (at 4 frames a second they do not
separate cuts from a moving camera). The half-second average flattens very
fast repetitions (push-ups faster than about one a second, read at 4 frames
a second).

Nothing is counted when the body moves less than `min_relative_range` of what a
repetition of that exercise moved in the run's training videos, when no signal
moves 18 degrees (a person standing still), or when no body is seen. A
periodic movement that is not an exercise (walking on the spot, waving) would
be counted if misread as one: the classifier's "unknown" is what marks it.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence

import numpy as np

from workout_runtime.pose_signals import signal_matrix, signal_range
from workout_runtime.verdicts import VideoPrediction

# The signals whose fall is a joint bending: the motion is turned so that bending is up.
BENDING = ("elbow_angle", "knee_angle", "hip_angle")
# Their share of the motion's direction below which it is turned by where it dwells instead (see _bending_sign).
MIN_BENDING = 0.1
# Nor one where no signal moves this far (a tenth of a half-turn, 18 degrees of a joint, or a tenth of a torso
# length), learnt ranges or not: a still person's sway and a pose model's jitter stay well below it (synthetic
# standing figure: 0.012; the smallest synthetic exercise: 0.49).
MIN_SIGNAL_RANGE = 0.1
# With CountSettings.direction_from "changes": each signal less its median over this many seconds around.
CHANGE_WINDOW_S = 3.0


@dataclasses.dataclass(frozen=True)
class CountSettings:
    """The counter's settings, each chosen by leave-one-source-out (see the module docstring).

    Attributes:
        swing: the rise to and fall from a turning point, as a share of the
            motion's range (5th to 95th percentile).
        end_swing: the rise to a turning point the clip ends on.
        start_swing: the rise from the first frame to a turning point before
            the first fall.
        window_s: the motion is rescaled between its extremes within this
            many seconds around each frame (0: not at all).
        smooth_s: a moving average over this many seconds (1 frame at 4 a second: none).
        local_floor: the local rescaling never stretches a stretch that moves
            less than this share of the clip's usual local range.
        direction_from: "levels" takes the motion's direction from the signals'
            values; "changes" from their changes within `CHANGE_WINDOW_S` (a
            slow change of posture, a rest in a pike, weighs less).
        height: whether the body's height in the frame is one of the signals
            (it moves with the camera as well as with the body).
        min_relative_range: with a run's learnt ranges, a motion smaller than
            this share of the exercise's usual range is not a repetition.
    """

    swing: float = 0.6
    end_swing: float = 0.75
    start_swing: float = 10.0
    window_s: float = 4.0
    smooth_s: float = 0.5
    local_floor: float = 0.6
    direction_from: str = "changes"
    height: bool = False
    min_relative_range: float = 0.2


DEFAULT_SETTINGS = CountSettings()
# The grid benchmarks/repetitions.py workout4 chooses from, per held-out source.
SETTING_GRID = {"swing": (0.4, 0.5, 0.6), "end_swing": (0.55, 0.75, 0.95), "start_swing": (0.25, 0.45, 10.0),
                "window_s": (0.0, 4.0), "smooth_s": (0.25, 0.5, 0.75), "local_floor": (0.3, 0.6),
                "direction_from": ("changes",), "height": (False,), "min_relative_range": (0.2, 0.35)}


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
        count: repetitions found (turning points reached inside the sequence).
        repetitions: their start, turning point and end.
        signal: the signal's name ("motion"), or None when nothing moved.
        values: the motion, one value per frame (empty without a body).
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


def _bending_sign(matrix: np.ndarray, names: list[str], direction: np.ndarray) -> float:
    """+1 or -1: the sign that makes the turning point the top of the motion.

    Where the elbows, knees or hips carry the motion (at least `MIN_BENDING` of the unit direction), the
    turning point is where they bend most. A motion without bending (a lateral raise: the shoulders open,
    the elbows stay straight) turns away from where it dwells: the rest is the side of the middle its median
    lies on.
    """
    weights = [-direction[names.index(n)] for n in BENDING if n in names]
    total = float(np.sum(weights)) if weights else 0.0
    if abs(total) >= MIN_BENDING * float(np.linalg.norm(direction)):
        return 1.0 if total >= 0 else -1.0
    values = (matrix - matrix.mean(axis=0)) @ direction
    low, high = np.percentile(values, 5), np.percentile(values, 95)
    return 1.0 if np.median(values) <= (low + high) / 2 else -1.0


def _principal_direction(matrix: np.ndarray) -> np.ndarray:
    centred = matrix - matrix.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return vt[0]


def motion(features: np.ndarray, fps: float, settings: CountSettings = None) -> np.ndarray | None:
    """The motion: the clip's first principal component of the signals, bending up (None without a body).

    An exercise's combination learnt from a run's training clips was tried in its place, alone and as weights on
    the signals: it counted worse on clips of other sources (workout4, Thunder: MAE 0.072-0.104 against 0.065),
    because a view the training clips did not have moves other signals.
    """
    settings = settings or DEFAULT_SETTINGS
    return _motion_of(*signal_matrix(features, fps, settings.smooth_s), fps, settings)


def _motion_of(matrix: np.ndarray, names: list[str], fps: float, settings: CountSettings) -> np.ndarray | None:
    """`motion` of signals already read by `signal_matrix`."""
    if not settings.height and "body_height" in names and len(names) > 1:
        keep = [k for k, n in enumerate(names) if n != "body_height"]
        matrix, names = matrix[:, keep], [names[k] for k in keep]
    if not names:
        return None
    source = matrix
    if settings.direction_from == "changes":
        width = int(round(CHANGE_WINDOW_S * fps)) | 1
        if len(matrix) > width:
            source = matrix - np.stack([_rolling(column, width, np.median) for column in matrix.T], axis=1)
    direction = _principal_direction(source)
    direction = direction * _bending_sign(matrix, names, direction)
    return (matrix - matrix.mean(axis=0)) @ direction


def _rolling(values: np.ndarray, width: int, reduce) -> np.ndarray:
    """`reduce` (np.min or np.max) over a centred window of `width` frames, edges repeated."""
    padded = np.pad(values, (width // 2, width - 1 - width // 2), mode="edge")
    return reduce(np.lib.stride_tricks.sliding_window_view(padded, width), axis=1)


def local_scale(values: np.ndarray, fps: float, window_s: float = DEFAULT_SETTINGS.window_s,
                floor: float = DEFAULT_SETTINGS.local_floor) -> np.ndarray:
    """The signal rescaled between its local extremes over `window_s` (unchanged if shorter or 0).

    A stretch that moves less than `floor` of the usual local range is not stretched up to it (a pause).
    """
    width = int(round(window_s * fps)) | 1
    if window_s <= 0 or len(values) <= width:
        return values
    low, high = _rolling(values, width, np.min), _rolling(values, width, np.max)
    spread = high - low
    return (values - low) / np.maximum(spread, floor * np.median(spread) + 1e-9)


def turning_points(z: np.ndarray, settings: CountSettings = DEFAULT_SETTINGS) -> list[tuple[int, int, int]]:
    """The zig-zag's peaks in a motion scaled to about [0, 1], as (start, turn, end) frame indices.

    A peak counts when `z` rose `swing` to it from the last low and falls `swing`
    after it; one the sequence ends on when it rose `end_swing`; a peak before
    the first low when it rose `start_swing` from the first frame.
    """
    n = len(z)
    if n < 2:
        return []
    peaks: list[int] = []
    lows: list[int] = []
    high_i = low_i = 0
    trend = None
    for i in range(1, n):
        if trend is None:
            if z[i] > z[high_i]:
                high_i = i
            if z[i] < z[low_i]:
                low_i = i
            if z[high_i] - z[i] >= settings.swing and high_i < i:
                # The first swing is a fall: the peak before it counts if the body rose to it inside the clip.
                if high_i > 0 and z[high_i] - z[0] >= settings.start_swing:
                    peaks.append(high_i)
                trend, low_i = "down", i
            elif z[i] - z[low_i] >= settings.swing and low_i < i:
                lows.append(low_i)
                trend, high_i = "up", i
        elif trend == "up":
            if z[i] > z[high_i]:
                high_i = i
            elif z[high_i] - z[i] >= settings.swing:
                peaks.append(high_i)
                trend, low_i = "down", i
        else:
            if z[i] < z[low_i]:
                low_i = i
            elif z[i] - z[low_i] >= settings.swing:
                lows.append(low_i)
                trend, high_i = "up", i
    if trend == "up" and lows and z[high_i] - z[lows[-1]] >= settings.end_swing:
        peaks.append(high_i)  # the clip ends at (or holding) a turning point it rose to
    if trend == "down":
        lows.append(low_i)
    found = []
    for peak in peaks:
        before = [low for low in lows if low < peak]
        after = [low for low in lows if low > peak]
        found.append((before[-1] if before else 0, peak, after[0] if after else n - 1))
    return found


def count_in_signal(values: np.ndarray, fps: float, min_range: float = 0.0,
                    settings: CountSettings = DEFAULT_SETTINGS) -> tuple[list[tuple[int, int, int]], str | None]:
    """Repetitions in one motion signal (bending up) as (start, turn, end) frame indices, or why there are none."""
    low, high = np.percentile(values, 5), np.percentile(values, 95)
    if high - low <= max(min_range, 1e-6):
        return [], "no movement large enough for a repetition"
    values = local_scale(values, fps, settings.window_s, settings.local_floor)
    low, high = np.percentile(values, 5), np.percentile(values, 95)
    z = (values - low) / max(high - low, 1e-9)
    return turning_points(z, settings), None


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
                      learnt: Mapping | None = None, settings: CountSettings = DEFAULT_SETTINGS) -> RepetitionCount:
    """Counts repetitions in a pose sequence.

    Args:
        features: `(T, 64+)` per-frame pose features (zero rows: no body).
        fps: frames per second of the sequence.
        label: the exercise, if known: its learnt motion and usual range of
            motion (the yardstick for "too small to be a repetition").
        learnt: what `learn_motion` learnt from a run's training videos
            (without it, the clip's own principal motion, and no movement
            above `MIN_SIGNAL_RANGE` is too small).
        settings: the counter's settings (`CountSettings`).

    Returns:
        A `RepetitionCount` (signal "motion").
    """
    features = np.asarray(features)
    times = np.arange(len(features)) / fps
    learnt = learnt or {}
    # Runs trained before version 0.2 measured their ranges on rescaled signals ("scales"): not comparable.
    classes = {} if "scales" in learnt else learnt.get("classes", {})
    matrix, names = signal_matrix(features, fps, settings.smooth_s)
    values = _motion_of(matrix, names, fps, settings)
    if values is None:
        return RepetitionCount(0, [], None, np.zeros(0), times, "no body in enough frames")
    largest = max((signal_range(column) for column in matrix.T), default=0.0)
    if largest < MIN_SIGNAL_RANGE:
        return RepetitionCount(0, [], "motion", values, times, "no movement large enough for a repetition")
    usual = classes.get(label) if label in classes else (float(np.median(list(classes.values()))) if classes else 0)
    moved = signal_range(values)
    if usual and moved < settings.min_relative_range * usual:
        return RepetitionCount(0, [], "motion", values, times, f"the body barely moves ({moved / usual:.0%} of a "
                                                                f"repetition's usual range)")
    found, reason = count_in_signal(values, fps, settings=settings)
    repetitions = [Repetition(round(float(times[s]), 3), round(float(times[t]), 3), round(float(times[e]), 3))
                   for s, t, e in found]
    return RepetitionCount(len(repetitions), repetitions, "motion", values, times, reason)


def counting_label(verdicts: Sequence[VideoPrediction]) -> tuple[str | None, str | None]:
    """(the exercise to count as, why it is unconfirmed) for a stretch with these verdicts.

    A confirmed exercise counts as itself; an "unknown" stretch in which a
    body was seen counts as its most frequent top exercise, marked
    unconfirmed; a stretch where no body was seen is not counted (None).
    """
    named = [v.label for v in verdicts if not v.unknown]
    if named:
        return max(set(named), key=named.count), None
    seen = [v for v in verdicts if v.frames_with_evidence > 0]
    if not seen:
        return None, None
    tops = [v.top_label for v in seen]
    top = max(set(tops), key=tops.count)
    return top, next(v.unknown_reason for v in seen if v.top_label == top)
