"""Pose features: keypoints normalised for position, scale and facing, plus velocities.

Input keypoints follow MoveNet's COCO layout, `(T, 17, 3)` with (y, x, score)
per joint in normalised image coordinates. Per frame the features are the
joints' (x, y) relative to the hip centre divided by the torso length, a
visibility flag per joint, and the (x, y) velocity since the previous frame:
17 * 2 + 17 + 17 * 2 = 85 values. Joints below `min_score` are masked (zero
coordinates, visibility 0), so an occluded wrist reads as unknown, not as a
wrist at the hips.
"""

from __future__ import annotations

import numpy as np

FEATURES_PER_FRAME = 85
_LEFT_RIGHT = [(1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)]
_FACE = [0, 1, 2, 3, 4]


def _mean_visible(points: np.ndarray, visible: np.ndarray, indices) -> np.ndarray | None:
    chosen = [i for i in indices if visible[i]]
    return points[chosen].mean(axis=0) if chosen else None


def normalise_keypoints(keypoints: np.ndarray, min_score: float = 0.2,
                        mirror_invariant: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """`(T, 17, 3)` (y, x, score) -> (`(T, 17, 2)` normalised (x, y), `(T, 17)` visibility).

    Translation: the hip centre is the origin. Scale: divided by the torso
    length (shoulder centre to hip centre). Mirror invariance: a figure facing
    left (face left of the shoulders) is flipped and its left and right joints
    swapped, so one facing direction is learnt for both.
    """
    keypoints = np.asarray(keypoints, dtype=np.float32)
    xy = keypoints[..., [1, 0]].copy()
    visible = keypoints[..., 2] >= min_score
    out = np.zeros_like(xy)
    for t in range(len(xy)):
        points, seen = xy[t], visible[t]
        if not seen.any():
            continue
        hips = _mean_visible(points, seen, (11, 12))
        shoulders = _mean_visible(points, seen, (5, 6))
        centre = hips if hips is not None else points[seen].mean(axis=0)
        if hips is not None and shoulders is not None:
            scale = float(np.linalg.norm(shoulders - hips))
        else:
            scale = float(np.ptp(points[seen], axis=0).max()) / 2 if seen.sum() > 1 else 0.0
        scale = max(scale, 1e-3)
        frame = (points - centre) / scale
        if mirror_invariant:
            face = _mean_visible(points, seen, _FACE)
            if face is not None and shoulders is not None and face[0] < shoulders[0]:
                frame[:, 0] = -frame[:, 0]
                for a, b in _LEFT_RIGHT:
                    frame[[a, b]] = frame[[b, a]]
                    seen = seen.copy()
                    seen[[a, b]] = seen[[b, a]]
                visible[t] = seen
        out[t] = np.where(seen[:, None], frame, 0.0)
    return out, visible


def pose_features(keypoints: np.ndarray, min_score: float = 0.2, mirror_invariant: bool = True) -> np.ndarray:
    """`(T, 17, 3)` keypoints -> `(T, 85)` features (coordinates, visibility, velocities)."""
    coords, visible = normalise_keypoints(keypoints, min_score, mirror_invariant)
    velocity = np.zeros_like(coords)
    both = visible[1:] & visible[:-1]
    velocity[1:] = np.where(both[..., None], coords[1:] - coords[:-1], 0.0)
    features = np.concatenate([coords.reshape(len(coords), -1), visible.astype(np.float32),
                               velocity.reshape(len(coords), -1)], axis=1)
    # A frame with no visible joint is all zeros, which the sequence head masks as padding.
    return features.astype(np.float32)


def sample_uniform(sequence: np.ndarray, length: int) -> np.ndarray:
    """`length` entries spread uniformly over a sequence, zero-padded if it is shorter."""
    n = len(sequence)
    out = np.zeros((length, *sequence.shape[1:]), dtype=sequence.dtype)
    if n == 0:
        return out
    if n >= length:
        picks = ((np.arange(length) + 0.5) * n / length).astype(int)
        return sequence[picks]
    out[:n] = sequence
    return out
