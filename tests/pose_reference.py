"""The NumPy pose pipeline the toolkit used before pose features moved into the Keras graph.

Kept here, in the tests only, as the reference the graph version must match:
OpenCV letterboxing, one MoveNet call per frame, and the NumPy features.
"""

import cv2
import numpy as np
import tensorflow as tf

_LEFT_RIGHT = [(1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)]
_FACE = [0, 1, 2, 3, 4]
JOINT_ANGLES = ((5, 7, 9), (6, 8, 10), (11, 13, 15), (12, 14, 16), (5, 11, 13), (6, 12, 14), (7, 5, 11), (8, 6, 12))


def letterbox(frames, size):
    n, height, width = frames.shape[:3]
    ratio = size / max(height, width)
    new_h, new_w = max(1, round(height * ratio)), max(1, round(width * ratio))
    top, left = (size - new_h) // 2, (size - new_w) // 2
    boxes = np.zeros((n, size, size, 3), dtype=np.uint8)
    for i in range(n):
        boxes[i, top:top + new_h, left:left + new_w] = cv2.resize(frames[i], (new_w, new_h),
                                                                  interpolation=cv2.INTER_AREA)
    transform = np.array([size / new_h, size / new_w, top / size, left / size], dtype=np.float32)
    return boxes, transform


def movenet_keypoints(function, size, frames):
    boxes, t = letterbox(frames, size)
    keypoints = np.stack([np.asarray(function(tf.constant(box[None], tf.int32))).reshape(17, 3) for box in boxes])
    keypoints[:, :, 0] = (keypoints[:, :, 0] - t[2]) * t[0]
    keypoints[:, :, 1] = (keypoints[:, :, 1] - t[3]) * t[1]
    return keypoints


def _mean_visible(points, visible, indices):
    chosen = [i for i in indices if visible[i]]
    return points[chosen].mean(axis=0) if chosen else None


def _normalise(keypoints, min_score=0.2, mirror_invariant=True):
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


def joint_angles(coords, visible):
    # In float64: float32 arccos is off by up to 1e-4 for nearly straight limbs, where the graph's atan2 is exact.
    coords = coords.astype(np.float64)
    out = np.zeros((len(coords), len(JOINT_ANGLES) + 1), dtype=np.float32)
    for i, (a, b, c) in enumerate(JOINT_ANGLES):
        first, second = coords[:, a] - coords[:, b], coords[:, c] - coords[:, b]
        norms = np.linalg.norm(first, axis=-1) * np.linalg.norm(second, axis=-1)
        cosine = (first * second).sum(-1) / np.maximum(norms, 1e-6)
        seen = visible[:, a] & visible[:, b] & visible[:, c] & (norms > 1e-6)
        out[:, i] = np.where(seen, np.arccos(np.clip(cosine, -1.0, 1.0)) / np.pi, 0.0)
    shoulders = visible[:, 5] & visible[:, 6]
    torso = (coords[:, 5] + coords[:, 6]) / 2
    out[:, -1] = np.where(shoulders, np.arctan2(np.abs(torso[:, 0]), -torso[:, 1]) / np.pi, 0.0)
    return out


def pose_features(keypoints, min_score=0.2, mirror_invariant=True):
    """`(T, 17, 3)` keypoints -> `(T, 96)` features, exactly as the NumPy toolkit computed them."""
    coords, visible, frames = _normalise(keypoints, min_score, mirror_invariant)
    velocity = np.zeros_like(coords)
    both = visible[1:] & visible[:-1]
    velocity[1:] = np.where(both[..., None], coords[1:] - coords[:-1], 0.0)
    root = np.zeros((len(coords), 2), dtype=np.float32)
    body = ~np.isnan(frames[:, 0])
    if body.any():
        centre = np.median(frames[body, :2], axis=0)
        scale = max(float(np.median(frames[body, 2])), 1e-3)
        root[body] = (frames[body, :2] - centre) / scale
        root[body, 0] *= frames[body, 3]
    features = np.concatenate([coords.reshape(len(coords), -1), visible.astype(np.float32),
                               joint_angles(coords, visible), velocity.reshape(len(coords), -1), root], axis=1)
    return features.astype(np.float32)


def has_body(keypoints, min_score=0.2, min_joints=6):
    """The graph version's body rule: a shoulder and enough confident joints."""
    visible = np.asarray(keypoints)[..., 2] >= min_score
    return visible[..., 5:7].any(-1) & (visible.sum(-1) >= min_joints)
