"""Layers shared by the clip models: framewise application, padding masks, pooling."""

from __future__ import annotations

import keras
from keras import ops

from workout_runtime.verdicts import VOTE_METHODS

PACKAGE = "workout_toolkit"


@keras.saving.register_keras_serializable(package=PACKAGE)
class FramewiseApply(keras.layers.Wrapper):
    """Applies a frame model to every frame of `(B, T, ...)` clips.

    This is TimeDistributed implemented the way mmaction2's Recognizer2D does
    it: time is folded into the batch, `(B, T, H, W, C) -> (B*T, H, W, C)`,
    so the frame model runs once on one large batch. Keras 3's
    `TimeDistributed` instead unrolls T copies of the model into the graph.
    Like any layer call, a frozen (non-trainable) frame model keeps its
    BatchNormalization in inference mode.
    """

    def build(self, input_shape):
        if not self.layer.built:
            self.layer.build((None, *input_shape[2:]))
        self.built = True

    def call(self, inputs, training=None):
        shape = ops.shape(inputs)
        # Frames of unknown size (pose encoders take any) fold with their runtime shape.
        frame_shape = [d if d is not None else shape[i + 2] for i, d in enumerate(inputs.shape[2:])]
        folded = ops.reshape(inputs, (-1, *frame_shape))
        outputs = self.layer(folded, training=training)
        return ops.reshape(outputs, (shape[0], shape[1], *outputs.shape[1:]))

    def compute_output_shape(self, input_shape):
        inner = self.layer.compute_output_shape((None, *input_shape[2:]))
        return (input_shape[0], input_shape[1], *inner[1:])


@keras.saving.register_keras_serializable(package=PACKAGE)
class FrameMask(keras.layers.Layer):
    """`(B, T, H, W, C)` clips -> `(B, T)` bool: True for real frames.

    Padding frames of short videos are all zeros (see the clip pipeline).
    """

    def call(self, clips):
        return ops.any(ops.not_equal(clips, 0), axis=tuple(range(2, len(clips.shape))))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:2])


@keras.saving.register_keras_serializable(package=PACKAGE)
class VotePooling(keras.layers.Layer):
    """Pools per-frame class probabilities `(B, T, K)` into one distribution `(B, K)`.

    Methods:
        "majority": share of frames voting for each class; ties are broken by
            the mean probability.
        "mean": mean probability over frames (TSN's average consensus).
        "confidence": mean weighted by each frame's top probability, so
            ambiguous frames (a transition, motion blur) count less.
    Masked frames (padding, or frames where a pose encoder saw no body) never
    vote; a clip with no unmasked frame gets the uniform distribution, which
    says "no evidence" instead of inventing a verdict.
    """

    METHODS = VOTE_METHODS

    def __init__(self, method: str = "mean", **kwargs):
        super().__init__(**kwargs)
        if method not in self.METHODS:
            raise ValueError(f"Unknown vote method. Received: method={method!r}; expected one of {list(self.METHODS)}")
        self.method = method

    def call(self, probabilities, frame_mask=None):
        # Named frame_mask, not mask: Keras would treat a `mask` argument as
        # its implicit masking mechanism.
        if frame_mask is None:
            weights = ops.ones(ops.shape(probabilities)[:2], dtype=probabilities.dtype)
        else:
            weights = ops.cast(frame_mask, probabilities.dtype)
        evidence = ops.sum(weights, axis=1, keepdims=True) > 0

        def pool(values, frame_weights):
            return ops.sum(values * frame_weights[..., None], axis=1) / ops.maximum(
                ops.sum(frame_weights, axis=1, keepdims=True), 1e-9)

        mean = pool(probabilities, weights)
        if self.method == "mean":
            scores = mean
        elif self.method == "confidence":
            scores = pool(probabilities, weights * ops.max(probabilities, axis=-1))
        else:
            votes = ops.one_hot(ops.argmax(probabilities, axis=-1), ops.shape(probabilities)[-1],
                                dtype=probabilities.dtype)
            # A tiny share of the mean breaks ties without ever overturning a vote.
            scores = pool(votes, weights) + 1e-3 * mean
        scores = scores / ops.maximum(ops.sum(scores, axis=-1, keepdims=True), 1e-9)
        uniform = ops.ones_like(scores) / ops.cast(ops.shape(scores)[-1], scores.dtype)
        return ops.where(evidence, scores, uniform)

    def get_config(self):
        return {**super().get_config(), "method": self.method}


@keras.saving.register_keras_serializable(package=PACKAGE)
class ApplyMask(keras.layers.Layer):
    """Zeroes the features of padding frames: `(B, T, F)` and `(B, T)` -> `(B, T, F)`."""

    def call(self, features, frame_mask):
        return features * ops.cast(frame_mask, features.dtype)[..., None]


@keras.saving.register_keras_serializable(package=PACKAGE)
class FeatureMask(keras.layers.Layer):
    """`(B, T, F)` features -> `(B, T)` bool: False where a padding frame's features are all zero."""

    def call(self, features):
        return ops.any(ops.not_equal(features, 0), axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:2])


@keras.saving.register_keras_serializable(package=PACKAGE)
class TemporalDelta(keras.layers.Layer):
    """`(B, T, F)` -> `x[t] - x[t-1]`, with zeros at t = 0."""

    def call(self, x):
        return ops.concatenate([ops.zeros_like(x[:, :1]), x[:, 1:] - x[:, :-1]], axis=1)


@keras.saving.register_keras_serializable(package=PACKAGE)
class PositionEmbedding(keras.layers.Layer):
    """Adds a learned embedding per frame position to `(B, T, D)` features."""

    def build(self, input_shape):
        self.embedding = self.add_weight(shape=tuple(input_shape[1:]), initializer=keras.initializers.RandomNormal(
            stddev=0.02), name="embedding")

    def call(self, x):
        return x + self.embedding[None]


@keras.saving.register_keras_serializable(package=PACKAGE)
class MaskedMean(keras.layers.Layer):
    """Mean of `(B, T, D)` over the frames where `(B, T)` frame_mask is set (zero where none is)."""

    def call(self, x, frame_mask):
        weights = ops.cast(frame_mask, x.dtype)[..., None]
        return ops.sum(x * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])


@keras.saving.register_keras_serializable(package=PACKAGE)
class AttentionMask(keras.layers.Layer):
    """`(B, T)` frame mask -> `(B, T, T)` attention mask; a clip without evidence attends everywhere.

    Letting an empty clip attend to its (zero) frames keeps the softmax
    finite; its verdict is then the head's prior, which the rejection
    threshold turns into "unknown".
    """

    def call(self, frame_mask):
        keys = ops.logical_or(frame_mask, ops.logical_not(ops.any(frame_mask, axis=1, keepdims=True)))
        return ops.repeat(keys[:, None, :], ops.shape(frame_mask)[1], axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1], input_shape[1])
