"""Small registered layers the encoders and heads share: resizing and feature selection."""

from __future__ import annotations

import keras
import tensorflow as tf

PACKAGE = "workout_toolkit"
# The name of every pixel encoder's feature output.
FEATURES_NAME = "features"


def area_weights(size_in, size_out) -> tf.Tensor:
    """`(size_out, size_in)` box-filter weights: each output pixel averages the input span it covers.

    A resize written as matrix products needs only builtin ops (LiteRT has no
    area resize) and, for shrinking, equals OpenCV's INTER_AREA to within one
    grey level.
    """
    scale = tf.cast(size_in, tf.float32) / tf.cast(size_out, tf.float32)
    out_index = tf.cast(tf.range(size_out), tf.float32)[:, None]
    in_index = tf.cast(tf.range(size_in), tf.float32)[None, :]
    overlap = tf.maximum(0.0, tf.minimum((out_index + 1) * scale, in_index + 1)
                         - tf.maximum(out_index * scale, in_index))
    return overlap / tf.reduce_sum(overlap, axis=1, keepdims=True)


def area_resize(images: tf.Tensor, height, width) -> tf.Tensor:
    """`(B, H, W, C)` -> `(B, height, width, C)` float32 by box filtering, rows then columns."""
    images = tf.cast(images, tf.float32)
    shape = tf.shape(images)
    channels_first = tf.transpose(images, (0, 3, 1, 2))
    resized = tf.matmul(tf.matmul(area_weights(shape[1], height), channels_first),
                        area_weights(shape[2], width), transpose_b=True)
    return tf.transpose(resized, (0, 2, 3, 1))


@keras.saving.register_keras_serializable(package=PACKAGE)
class AreaResize(keras.layers.Layer):
    """Frames of any size -> `(size, size)` by box filtering, rounded to whole grey levels like uint8.

    Used where one model must take frames of any shape and feed a pixel
    encoder of a fixed input size (a pose + pixel combined encoder).
    """

    def __init__(self, size: int, **kwargs):
        super().__init__(**kwargs)
        self.size = int(size)

    def call(self, images):
        resized = tf.clip_by_value(tf.round(area_resize(images, self.size, self.size)), 0.0, 255.0)
        return tf.reshape(resized, (-1, self.size, self.size, images.shape[-1]))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size, self.size, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "size": self.size}


@keras.saving.register_keras_serializable(package=PACKAGE)
class FeatureSlice(keras.layers.Layer):
    """Drops features `[exclude_start, exclude_stop)` of `(..., F)`.

    A pose encoder's last features describe where the body is in the frame
    (for motion features over time); a per-frame classifier must not read
    them, or it learns where people stand in the training videos.
    """

    def __init__(self, exclude_start: int, exclude_stop: int, **kwargs):
        super().__init__(**kwargs)
        self.exclude_start, self.exclude_stop = int(exclude_start), int(exclude_stop)

    def call(self, features):
        return keras.ops.concatenate([features[..., :self.exclude_start], features[..., self.exclude_stop:]],
                                     axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] - (self.exclude_stop - self.exclude_start))

    def get_config(self):
        return {**super().get_config(), "exclude_start": self.exclude_start, "exclude_stop": self.exclude_stop}


@keras.saving.register_keras_serializable(package=PACKAGE)
class PresenceGate(keras.layers.Layer):
    """`[features (B, F), pose features (B, P)]` -> the features where the pose encoder saw a body, else zeros.

    A pixel encoder finds something in every frame (an empty gym looks like a gym); gating its features by
    MoveNet's body rule makes "no body, no verdict" hold for pixel runs too: a frame without a person carries
    no evidence, exactly as in a pose run.
    """

    def call(self, inputs):
        features, pose = inputs
        seen = keras.ops.cast(keras.ops.any(keras.ops.not_equal(pose, 0.0), axis=-1, keepdims=True), features.dtype)
        return features * seen

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]
