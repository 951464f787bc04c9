"""The per-frame classifier over pose features (the pose counterpart of a pixel frame classifier)."""

from __future__ import annotations

import keras

from toolkit.models.pose_features import STATIC_FEATURES


def build_pose_frame_classifier(num_classes: int, feature_dim: int = STATIC_FEATURES, hidden: int = 64,
                                dropout: float = 0.3) -> keras.Model:
    """`(B, feature_dim)` static pose features of single frames -> class probabilities.

    Normalised keypoints already are a compact, position- and scale-free
    description of the body, so one hidden layer suffices; a bigger network
    memorises the few dozen performers of a small dataset.
    """
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"Received: num_classes={num_classes!r}; expected an integer >= 2")
    # === Functional Model ===
    inputs = keras.Input(shape=(feature_dim,), name="pose_features")
    x = keras.layers.LayerNormalization(name="feature_norm")(inputs)
    x = keras.layers.Dense(hidden, activation="relu", name="hidden")(x)
    x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="pose_frame_classifier")
