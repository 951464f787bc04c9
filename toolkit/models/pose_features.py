"""Pose features: keypoints normalised for position, scale and facing, with angles and motion.

Input keypoints follow MoveNet's COCO layout, `(T, 17, 3)` with (y, x, score)
per joint in normalised image coordinates. Per frame, in this order:

* the joints' (x, y) relative to the hip centre divided by the torso length (34);
* a visibility flag per joint (17);
* nine angles in [0, 1] (radians / pi): elbows, knees, hips, shoulders, and
  the torso's tilt from vertical; 0 when a joint is unseen (9);
* the joints' (x, y) velocity since the previous frame (34);
* root motion: the hip centre relative to its median position over the
  sequence, in torso lengths (2).

96 values in all; the first 60 (`STATIC_FEATURES`) need no other frame.
Joints below `min_score` are masked (zero coordinates, visibility 0), so an
occluded wrist reads as unknown, not as a wrist at the hips.
"""

from __future__ import annotations

import numpy as np

# Joint angles at (first, vertex, last): elbows, knees, hips, shoulders.
JOINT_ANGLES = ((5, 7, 9), (6, 8, 10), (11, 13, 15), (12, 14, 16), (5, 11, 13), (6, 12, 14), (7, 5, 11), (8, 6, 12))
FEATURES_PER_FRAME = 96
# The first 60 features (coordinates, visibility, angles) describe one frame on
# its own; velocities and root motion need the rest of the sequence. Per-frame
# classifiers (voting, single images) use only these, so a still image reads
# like a video frame.
STATIC_FEATURES = 60
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
    coords, visible, _ = _normalise(keypoints, min_score, mirror_invariant)
    return coords, visible


def _normalise(keypoints, min_score, mirror_invariant) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`normalise_keypoints` plus, per frame, (centre x, centre y, scale, x sign); NaN where no body."""
    keypoints = np.asarray(keypoints, dtype=np.float32)
    xy = keypoints[..., [1, 0]].copy()
    visible = keypoints[..., 2] >= min_score
    out = np.zeros_like(xy)
    frames = np.full((len(xy), 4), np.nan, dtype=np.float32)
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
        frames[t] = centre[0], centre[1], scale, 1.0
        if mirror_invariant:
            face = _mean_visible(points, seen, _FACE)
            if face is not None and shoulders is not None and face[0] < shoulders[0]:
                frames[t, 3] = -1.0
                frame[:, 0] = -frame[:, 0]
                for a, b in _LEFT_RIGHT:
                    frame[[a, b]] = frame[[b, a]]
                    seen = seen.copy()
                    seen[[a, b]] = seen[[b, a]]
                visible[t] = seen
        out[t] = np.where(seen[:, None], frame, 0.0)
    return out, visible, frames


def pose_features(keypoints: np.ndarray, min_score: float = 0.2, mirror_invariant: bool = True) -> np.ndarray:
    """`(T, 17, 3)` keypoints -> `(T, 96)` features.

    Per frame: normalised coordinates (34), visibility (17), joint angles (9),
    velocities (34), root motion (2).
    """
    coords, visible, frames = _normalise(keypoints, min_score, mirror_invariant)
    velocity = np.zeros_like(coords)
    both = visible[1:] & visible[:-1]
    velocity[1:] = np.where(both[..., None], coords[1:] - coords[:-1], 0.0)
    # Root motion: where the hips are relative to their median place in the
    # sequence, in torso lengths. Centring on the hips removes it from the
    # joints, yet it tells a pull-up (hands still, body rises) from a squat
    # (feet still, body sinks).
    root = np.zeros((len(coords), 2), dtype=np.float32)
    body = ~np.isnan(frames[:, 0])
    if body.any():
        centre = np.median(frames[body, :2], axis=0)
        scale = max(float(np.median(frames[body, 2])), 1e-3)
        root[body] = (frames[body, :2] - centre) / scale
        root[body, 0] *= frames[body, 3]
    features = np.concatenate([coords.reshape(len(coords), -1), visible.astype(np.float32),
                               joint_angles(coords, visible), velocity.reshape(len(coords), -1), root], axis=1)
    # A frame with no visible joint is all zeros, which the sequence head masks as padding.
    return features.astype(np.float32)


def joint_angles(coords: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """`(T, 17, 2)` normalised coordinates -> `(T, 9)` angles in [0, 1] (radians / pi).

    The angle at each `JOINT_ANGLES` vertex, then the torso's tilt from
    vertical (0 upright, 0.5 lying: a push-up against a squat). Unseen joints
    give 0.
    """
    out = np.zeros((len(coords), len(JOINT_ANGLES) + 1), dtype=np.float32)
    for i, (a, b, c) in enumerate(JOINT_ANGLES):
        first, second = coords[:, a] - coords[:, b], coords[:, c] - coords[:, b]
        norms = np.linalg.norm(first, axis=-1) * np.linalg.norm(second, axis=-1)
        cosine = (first * second).sum(-1) / np.maximum(norms, 1e-6)
        seen = visible[:, a] & visible[:, b] & visible[:, c] & (norms > 1e-6)
        out[:, i] = np.where(seen, np.arccos(np.clip(cosine, -1.0, 1.0)) / np.pi, 0.0)
    # The hips are the origin, so the shoulder centre is the torso vector.
    shoulders = visible[:, 5] & visible[:, 6]
    torso = (coords[:, 5] + coords[:, 6]) / 2
    out[:, -1] = np.where(shoulders, np.arctan2(np.abs(torso[:, 0]), -torso[:, 1]) / np.pi, 0.0)
    return out


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
