"""The frame head every encoder shares: features of one frame -> class probabilities."""

from __future__ import annotations

import keras

from toolkit.models.layers import FeatureSlice

FRAME_HEAD_NAME = "frame_head"


def build_frame_head(feature_dim: int, num_classes: int, units: int = 64, dropout: float = 0.3,
                     exclude: tuple[int, int] | None = None) -> keras.Model:
    """`(B, feature_dim)` encoder features -> class probabilities `(B, num_classes)`.

    Layer normalisation makes the head indifferent to the encoder's feature
    scale (96 pose features or 1280 EfficientNet ones); one hidden layer of
    `units` (0 for a linear head) is enough on good features, and more
    memorises the few dozen sources of a small dataset.

    Args:
        feature_dim: the encoder's output size.
        num_classes: size of the softmax.
        units: hidden units; 0 for none.
        dropout: dropout before the output layer.
        exclude: features `[start, stop)` the head must not read (a pose
            encoder's frame geometry; see `FeatureSlice`).
    """
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"Received: num_classes={num_classes!r}; expected an integer >= 2")
    # === Functional Model ===
    features = keras.Input(shape=(feature_dim,), name="features")
    x = FeatureSlice(*exclude, name="frame_features")(features) if exclude else features
    x = keras.layers.LayerNormalization(name="feature_norm")(x)
    if units:
        x = keras.layers.Dense(units, activation="relu", name="hidden")(x)
    x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(features, outputs, name=FRAME_HEAD_NAME)


def build_frame_classifier(encoder: keras.Model, frame_head: keras.Model) -> keras.Model:
    """Encoder then frame head: uint8 frames `(B, H, W, 3)` -> class probabilities."""
    # === Functional Model ===
    frames = keras.Input(shape=encoder.input_shape[1:], name="frame")
    outputs = frame_head(encoder(frames))
    return keras.Model(frames, outputs, name="frame_classifier")
