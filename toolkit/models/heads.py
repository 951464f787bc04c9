"""The classification head shared by every frame model, and feature access."""

from __future__ import annotations

import keras

FEATURES_NAME = "features"


def attach_classifier_head(features: keras.Model, num_classes: int, dropout: float,
                           name: str) -> keras.Model:
    """Wraps a pooled feature model into `image -> dropout -> dense softmax`.

    The feature model stays a nested sub-model named `features`, so temporal
    aggregators can pull it out with `get_feature_extractor` and reuse it.
    """
    # === Functional Model ===
    inputs = keras.Input(shape=features.input_shape[1:], name="image")
    x = features(inputs)
    x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


def get_feature_extractor(classifier: keras.Model) -> keras.Model:
    """The pooled feature sub-model of a classifier built by this package."""
    try:
        return classifier.get_layer(FEATURES_NAME)
    except ValueError as error:
        raise ValueError(f"Model {classifier.name!r} has no sub-model named {FEATURES_NAME!r}; "
                         f"expected a classifier built by toolkit.models.") from error
