"""Motion features of pose sequences: what needs neighbouring frames, computed inside the temporal heads.

`PoseMotionFeatures` turns a sequence of per-frame pose features (the 64 of
`toolkit.models.pose_features`) into 96 per frame: the 60 static features,
the joints' (x, y) velocity since the previous frame (34; zero unless the
joint is seen in both), and root motion (2): where the hip centre is
relative to its median place over the sequence, in torso lengths. Centring
on the hips removes root motion from the joints, yet it tells a pull-up
(hands still, body rises) from a squat (feet still, body sinks).

Features after the first 64 (a pixel encoder's, in a combined encoder) pass
through unchanged.
"""

from __future__ import annotations

import keras
from keras import ops

from toolkit.models.pose_features import COORDINATES, FRAME_FEATURES, STATIC_FEATURES, VISIBILITY

PACKAGE = "workout_toolkit"
MOTION_FEATURES = STATIC_FEATURES + COORDINATES + 2  # 96


def masked_median(values, mask):
    """Median over axis 1 of `(B, T)` values where `(B, T)` mask is set (0 where none is)."""
    count = ops.sum(ops.cast(mask, "int32"), axis=1)
    # Masked entries sort to the end; a large finite value, not inf, keeps (low + high) / 2 finite.
    ordered = ops.sort(ops.where(mask, values, 1e9), axis=1)
    low = ops.take_along_axis(ordered, ops.maximum((count - 1) // 2, 0)[:, None], axis=1)
    high = ops.take_along_axis(ordered, ops.maximum(count // 2, 0)[:, None], axis=1)
    # With an even count the median is the mean of the two middle values, as in NumPy.
    median = ops.where(count % 2 == 1, low[:, 0], (low[:, 0] + high[:, 0]) / 2)
    return ops.where(count > 0, median, 0.0)


@keras.saving.register_keras_serializable(package=PACKAGE)
class PoseMotionFeatures(keras.layers.Layer):
    """`(B, T, 64 + R)` per-frame pose features -> `(B, T, 96 + R)` with velocities and root motion.

    Frames without a body (all-zero pose features, e.g. padding) stay all zero
    in the pose part.
    """

    def call(self, features):
        pose, rest = features[..., :FRAME_FEATURES], features[..., FRAME_FEATURES:]
        body = ops.any(ops.not_equal(pose, 0), axis=-1)
        coords = pose[..., :COORDINATES]
        visible = ops.repeat(pose[..., COORDINATES:COORDINATES + VISIBILITY] > 0.5, 2, axis=-1)
        both = visible[:, 1:] & visible[:, :-1]
        velocity = ops.where(both, coords[:, 1:] - coords[:, :-1], 0.0)
        velocity = ops.concatenate([ops.zeros_like(coords[:, :1]), velocity], axis=1)
        centre_x, centre_y, scale, sign = (pose[..., STATIC_FEATURES + i] for i in range(4))
        reference = ops.maximum(masked_median(scale, body), 1e-3)[:, None]
        root_x = (centre_x - masked_median(centre_x, body)[:, None]) / reference * sign
        root_y = (centre_y - masked_median(centre_y, body)[:, None]) / reference
        root = ops.where(body[..., None], ops.stack([root_x, root_y], axis=-1), 0.0)
        return ops.concatenate([pose[..., :STATIC_FEATURES], velocity, root, rest], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] - FRAME_FEATURES + MOTION_FEATURES)
