"""Temporal heads: a clip's frame features `(B, T, F)` -> class probabilities, the same for every encoder.

* vote: the frame head on every frame, pooled by majority, mean probability
  or confidence-weighted mean (TSN's consensus);
* lstm: frame features, their frame-to-frame differences, a masked LSTM;
* transformer: a small transformer encoder over the frames (learned
  positional embedding, padding mask, masked mean pooling), sized for a few
  hundred training videos; the role VideoMAE plays at scale.

Every head reads its padding mask from the features themselves: padding
frames (and frames where a pose encoder saw no body) are all zero. With pose
features in front (`pose_features=True`), the sequence heads first add motion
features (`PoseMotionFeatures`: velocities, root motion).

Each head is a functional model named "head", so a video model is always
`encoder -> head` and can be split again for inference.
"""

from __future__ import annotations

import keras

from toolkit.temporal.layers import (ApplyMask, AttentionMask, FeatureMask, FramewiseApply, MaskedMean,
                                     PositionEmbedding, TemporalDelta, VotePooling)
from toolkit.temporal.pose_motion import PoseMotionFeatures
from workout_runtime.verdicts import AGGREGATORS

SEQUENCE_AGGREGATORS = ("lstm", "transformer")
HEAD_NAME = "head"


def build_vote_head(frame_head: keras.Model, num_frames: int, method: str = "mean") -> keras.Model:
    """Pools `frame_head`'s per-frame probabilities over the frames that carry evidence."""
    feature_dim = frame_head.input_shape[-1]
    # === Functional Model ===
    features = keras.Input(shape=(num_frames, feature_dim), name="frame_features")
    mask = FeatureMask(name="evidence")(features)
    probabilities = FramewiseApply(frame_head, name="frame_probabilities")(features)
    outputs = VotePooling(method, name=f"vote_{method}")(probabilities, frame_mask=mask)
    return keras.Model(features, outputs, name=HEAD_NAME)


def _sequence_inputs(num_frames: int, feature_dim: int, pose_features: bool):
    """Input, evidence mask, and layer-normalised features (with motion features for pose)."""
    features = keras.Input(shape=(num_frames, feature_dim), name="frame_features")
    mask = FeatureMask(name="evidence")(features)
    x = PoseMotionFeatures(name="pose_motion")(features) if pose_features else features
    # Normalising per frame makes the head indifferent to the encoder's
    # feature scale (96 pose features or 1280 EfficientNet ones).
    x = keras.layers.LayerNormalization(name="feature_norm")(x)
    return features, mask, x


def build_lstm_head(num_frames: int, feature_dim: int, num_classes: int, units: int = 64, dropout: float = 0.3,
                    pose_features: bool = False) -> keras.Model:
    """Frame features and their differences -> projection -> masked LSTM -> softmax."""
    # === Functional Model ===
    features, mask, x = _sequence_inputs(num_frames, feature_dim, pose_features)
    # Frame-to-frame differences make motion (and its direction and speed)
    # explicit instead of leaving the LSTM to learn to subtract.
    x = keras.layers.Concatenate(name="with_deltas")([x, TemporalDelta(name="deltas")(x)])
    x = ApplyMask(name="zero_padding")(x, frame_mask=mask)
    x = keras.layers.Masking(mask_value=0.0, name="padding_mask")(x)
    # A small projection before the LSTM: with a few dozen training videos an
    # LSTM on 1280-d inputs memorises them instead of learning the motion.
    x = keras.layers.Dense(units, activation="relu", name="projection")(x)
    x = keras.layers.Dropout(dropout, name="projection_dropout")(x)
    x = keras.layers.LSTM(units, name="lstm")(x)
    x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(features, outputs, name=HEAD_NAME)


def build_transformer_head(num_frames: int, feature_dim: int, num_classes: int, units: int = 64,
                           layers: int = 2, heads: int = 4, dropout: float = 0.3,
                           pose_features: bool = False) -> keras.Model:
    """A small pre-norm transformer encoder over frames, then masked mean pooling and softmax.

    Sized for a few hundred training videos: `units`-wide tokens (64), two
    blocks of four heads, a feed-forward of twice the width, and dropout on
    attention and tokens; about 70 thousand weights at 64 units.
    """
    if units % heads:
        raise ValueError(f"Received: units={units}, heads={heads}; expected units divisible by heads")
    # === Functional Model ===
    features, mask, x = _sequence_inputs(num_frames, feature_dim, pose_features)
    x = keras.layers.Concatenate(name="with_deltas")([x, TemporalDelta(name="deltas")(x)])
    x = keras.layers.Dense(units, name="projection")(x)
    x = PositionEmbedding(name="positions")(x)
    x = keras.layers.Dropout(dropout, name="token_dropout")(x)
    # (B, T) -> (B, T, T): every frame attends to the frames that carry evidence.
    pair_mask = AttentionMask(name="attention_mask")(mask)
    for block in range(layers):
        y = keras.layers.LayerNormalization(name=f"block{block}_norm1")(x)
        y = keras.layers.MultiHeadAttention(heads, units // heads, dropout=dropout, name=f"block{block}_attention")(
            y, y, attention_mask=pair_mask)
        x = keras.layers.Add(name=f"block{block}_add1")([x, y])
        y = keras.layers.LayerNormalization(name=f"block{block}_norm2")(x)
        # ReLU rather than GELU: the same here, and an op of every export target (ONNX opset 17 has no GELU).
        y = keras.layers.Dense(2 * units, activation="relu", name=f"block{block}_ff1")(y)
        y = keras.layers.Dropout(dropout, name=f"block{block}_ff_dropout")(y)
        y = keras.layers.Dense(units, name=f"block{block}_ff2")(y)
        x = keras.layers.Add(name=f"block{block}_add2")([x, y])
    x = keras.layers.LayerNormalization(name="final_norm")(x)
    x = MaskedMean(name="pool")(x, frame_mask=mask)
    x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(features, outputs, name=HEAD_NAME)


def build_sequence_head(aggregator: str, num_frames: int, feature_dim: int, num_classes: int, units: int = 64,
                        dropout: float = 0.3, pose_features: bool = False, layers: int = 2) -> keras.Model:
    """The LSTM or transformer head by name.

    Raises:
        ValueError: unknown aggregator, naming the choices.
    """
    if aggregator == "lstm":
        return build_lstm_head(num_frames, feature_dim, num_classes, units, dropout, pose_features)
    if aggregator == "transformer":
        return build_transformer_head(num_frames, feature_dim, num_classes, units, layers, dropout=dropout,
                                      pose_features=pose_features)
    raise ValueError(f"Unknown sequence head. Received: aggregator={aggregator!r}; expected one of "
                     f"{list(SEQUENCE_AGGREGATORS)}")
