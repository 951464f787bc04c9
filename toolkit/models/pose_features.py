"""Pose features of one frame, as a Keras layer: keypoints normalised for position, scale and facing.

Input keypoints follow MoveNet's COCO layout, `(B, 17, 3)` with (y, x, score)
per joint in normalised frame coordinates. Output per frame, in this order
(64 values; `workout_runtime.pose_layout` holds the positions, read by both packages):

* the joints' (x, y) relative to the hip centre divided by the torso length,
  joint by joint (34);
* a visibility flag per joint (17);
* nine angles in [0, 1] (radians / pi): elbows, knees, hips, shoulders, and
  the torso's tilt from vertical; 0 when a joint is unseen (9);
* the frame geometry the temporal heads need for motion features: the body's
  centre x and y in the frame, its scale, and +1 or -1 for a mirrored figure (4).

The first 60 (`STATIC_FEATURES`) describe the body on its own and are what
the per-frame classifier reads; velocities and root motion need neighbouring
frames and are computed by the temporal heads (`toolkit.temporal.pose_motion`)
from all 64.

Joints below `min_score` are masked (zero coordinates, visibility 0), so an
occluded wrist reads as unknown, not as a wrist at the hips. A frame counts as
showing a body only if a shoulder and at least `min_joints` joints are
confident; otherwise every feature is zero, which the heads treat as "no
evidence" (a crop of a wall with one spurious joint is not a person).
"""

from __future__ import annotations

import math

import keras
from keras import ops

from workout_runtime.pose_layout import (COORDINATES, FRAME_FEATURES, GEOMETRY, JOINT_ANGLES,  # noqa: F401
                                        KEYPOINT_NAMES, STATIC_FEATURES, VISIBILITY, ANGLES)

PACKAGE = "workout_toolkit"
# Each joint's mirror image: left and right swapped.
MIRROR = (0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15)
DEFAULT_MIN_SCORE = 0.2
DEFAULT_MIN_JOINTS = 6


def _masked_mean(points, mask):
    """Mean of `(B, J, 2)` points over the joints where `(B, J)` mask is set; (B, 2), and whether any was."""
    weights = ops.cast(mask, points.dtype)
    count = ops.sum(weights, axis=1, keepdims=True)
    return ops.sum(points * weights[..., None], axis=1) / ops.maximum(count, 1.0), count[:, 0] > 0


@keras.saving.register_keras_serializable(package=PACKAGE)
class PoseFrameFeatures(keras.layers.Layer):
    """Keypoints `(B, 17, 3)` -> 64 pose features `(B, 64)`; all zero where no body is seen.

    Args:
        min_score: joints below this confidence are unseen.
        min_joints: confident joints needed for a body.
        require_torso: a body also needs a confident shoulder.
        mirror_invariant: flip figures that face left (face left of the
            shoulders) and swap their left and right joints, so one facing
            direction is learnt for both.
    """

    def __init__(self, min_score: float = DEFAULT_MIN_SCORE, min_joints: int = DEFAULT_MIN_JOINTS,
                 mirror_invariant: bool = True, require_torso: bool = True, **kwargs):
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        self.min_score, self.min_joints, self.mirror_invariant = float(min_score), int(min_joints), mirror_invariant
        self.require_torso = bool(require_torso)

    def call(self, keypoints):
        keypoints = ops.cast(keypoints, "float32")
        xy = ops.stack([keypoints[..., 1], keypoints[..., 0]], axis=-1)  # (B, 17, 2) as (x, y)
        visible = keypoints[..., 2] >= self.min_score
        hips, has_hips = _masked_mean(xy[:, 11:13], visible[:, 11:13])
        shoulders, has_shoulders = _masked_mean(xy[:, 5:7], visible[:, 5:7])
        everything, _ = _masked_mean(xy, visible)
        joints = ops.sum(ops.cast(visible, "int32"), axis=1)
        body = joints >= self.min_joints
        if self.require_torso:
            body = body & has_shoulders
        # Translation: the hip centre is the origin (the visible joints' mean when no hip is seen, as
        # in a pull-up filmed from the waist up). Scale: the torso length, else half the joints' extent.
        centre = ops.where(has_hips[:, None], hips, everything)
        torso = ops.sqrt(ops.sum(ops.square(shoulders - hips), axis=-1))
        high = ops.max(ops.where(visible[..., None], xy, -1e9), axis=1)
        low = ops.min(ops.where(visible[..., None], xy, 1e9), axis=1)
        extent = ops.where(joints > 1, ops.max(high - low, axis=-1) / 2, 0.0)
        scale = ops.maximum(ops.where(has_hips & has_shoulders, torso, extent), 1e-3)
        coords = (xy - centre[:, None, :]) / scale[:, None, None]
        flip = ops.zeros_like(scale, dtype="bool")
        if self.mirror_invariant:
            face, has_face = _masked_mean(xy[:, :5], visible[:, :5])
            flip = has_face & (face[:, 0] < shoulders[:, 0])
            mirrored = ops.take(coords * ops.convert_to_tensor([-1.0, 1.0]), list(MIRROR), axis=1)
            coords = ops.where(flip[:, None, None], mirrored, coords)
            visible = ops.where(flip[:, None], ops.take(visible, list(MIRROR), axis=1), visible)
        coords = ops.where(visible[..., None], coords, 0.0)
        features = ops.concatenate([
            ops.reshape(coords, (-1, COORDINATES)), ops.cast(visible, "float32"), joint_angles(coords, visible),
            ops.stack([centre[:, 0], centre[:, 1], scale, ops.where(flip, -1.0, 1.0)], axis=-1)], axis=-1)
        return ops.where(body[:, None], features, 0.0)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], FRAME_FEATURES)

    def get_config(self):
        return {**super().get_config(), "min_score": self.min_score, "min_joints": self.min_joints,
                "mirror_invariant": self.mirror_invariant, "require_torso": self.require_torso}


def joint_angles(coords, visible):
    """`(B, 17, 2)` normalised coordinates -> `(B, 9)` angles in [0, 1] (radians / pi).

    The angle at each `JOINT_ANGLES` vertex, then the torso's tilt from
    vertical (0 upright, 0.5 lying: a push-up against a squat). Unseen joints
    give 0.
    """
    angles = []
    for a, b, c in JOINT_ANGLES:
        first, second = coords[:, a] - coords[:, b], coords[:, c] - coords[:, b]
        norms = ops.sqrt(ops.sum(ops.square(first), -1)) * ops.sqrt(ops.sum(ops.square(second), -1))
        dot = ops.sum(first * second, -1)
        cross = first[:, 0] * second[:, 1] - first[:, 1] * second[:, 0]
        seen = visible[:, a] & visible[:, b] & visible[:, c] & (norms > 1e-6)
        # The angle between the two limbs, arccos(dot / norms) written as atan2: the same value, exact near
        # 0 and pi where arccos loses precision, and a builtin op of every runtime (LiteRT has no acos).
        angles.append(ops.where(seen, ops.arctan2(ops.abs(cross), dot) / math.pi, 0.0))
    # The hips are the origin, so the shoulder centre is the torso vector.
    torso = (coords[:, 5] + coords[:, 6]) / 2
    shoulders = visible[:, 5] & visible[:, 6]
    angles.append(ops.where(shoulders, ops.arctan2(ops.abs(torso[:, 0]), -torso[:, 1]) / math.pi, 0.0))
    return ops.stack(angles, axis=-1)
