"""The joint signals repetitions are counted on, read from per-frame pose features (`workout_runtime.pose_layout`).

Each signal is one number per frame: the elbow, knee, hip and shoulder angles
(left and right averaged where seen), the torso's tilt, the body's height in
the frame and the wrists' height from the hips. Frames without a body are NaN
until `smoothed` interpolates over them.
"""

from __future__ import annotations

import numpy as np

from workout_runtime import pose_layout as layout

SIGNALS = ("elbow_angle", "knee_angle", "hip_angle", "shoulder_angle", "torso_tilt", "body_height", "wrist_height")
# A wrist is never further than this from the hips, in torso lengths.
WRIST_LIMIT = 3.0


def _pair(features: np.ndarray, left: int, right: int) -> np.ndarray:
    """Mean of a left and a right value where seen (a value of exactly 0 means unseen)."""
    pair = features[:, [left, right]]
    seen = pair != 0
    return np.where(seen.any(1), (pair * seen).sum(1) / np.maximum(seen.sum(1), 1), np.nan)


def _body(features: np.ndarray) -> np.ndarray:
    return np.any(features[:, :layout.FRAME_FEATURES] != 0, axis=1)


def signal_values(features: np.ndarray, name: str) -> np.ndarray:
    """One candidate signal per frame from `(T, 64+)` pose features; NaN where it is unknown."""
    features = np.asarray(features, dtype=np.float64)
    body = _body(features)
    if name in ("elbow_angle", "knee_angle", "hip_angle", "shoulder_angle"):
        joint = name.split("_")[0]
        values = _pair(features, layout.angle(f"left_{joint}"), layout.angle(f"right_{joint}"))
    elif name == "torso_tilt":
        tilt = features[:, layout.angle("torso_tilt")]
        values = np.where(tilt != 0, tilt, np.nan)
    elif name == "body_height":
        # The body's centre in the frame, in body lengths (up is positive), as the heads' root motion.
        scale = np.median(features[body, layout.SCALE]) if body.any() else 1.0
        values = -features[:, layout.CENTRE_Y] / max(scale, 1e-3)
    elif name == "wrist_height":
        # Hip-centred, in torso lengths, up positive; clipped because a torso seen end-on measures almost
        # nothing and would blow the value up by a hundred.
        wrists = layout.coordinate("left_wrist", "y"), layout.coordinate("right_wrist", "y")
        values = np.clip(-_pair(features, *wrists), -WRIST_LIMIT, WRIST_LIMIT)
    else:
        raise ValueError(f"Unknown signal. Received: name={name!r}; expected one of {list(SIGNALS)}")
    return np.where(body, values, np.nan)


def smoothed(values: np.ndarray, fps: float, smooth_s: float) -> np.ndarray | None:
    """NaNs interpolated over, a moving average over `smooth_s`; None when fewer than 3 frames are known."""
    known = ~np.isnan(values)
    if known.sum() < 3:
        return None
    index = np.arange(len(values))
    filled = np.interp(index, index[known], values[known])
    width = max(1, int(round(fps * smooth_s)))
    if width > 1:
        kernel = np.ones(width) / width
        filled = np.convolve(np.pad(filled, (width // 2, width - 1 - width // 2), mode="edge"), kernel, "valid")
    return filled


def signal_matrix(features: np.ndarray, fps: float, smooth_s: float) -> tuple[np.ndarray, list[str]]:
    """The known signals, one column each `(T, k)`, each averaged over `smooth_s` seconds, and their names."""
    features = np.asarray(features, dtype=np.float64)
    columns, names = [], []
    for name in SIGNALS:
        values = signal_values(features, name)
        prepared = smoothed(values, fps, smooth_s)
        if prepared is not None:
            columns.append(prepared)
            names.append(name)
    matrix = np.stack(columns, axis=1) if columns else np.zeros((len(features), 0))
    return matrix, names


def signal_range(values: np.ndarray) -> float:
    """The signal's spread: 95th minus 5th percentile of the known values (0 without any)."""
    known = values[~np.isnan(values)]
    return float(np.percentile(known, 95) - np.percentile(known, 5)) if len(known) >= 3 else 0.0
