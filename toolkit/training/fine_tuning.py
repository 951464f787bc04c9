"""Freezing and unfreezing a classifier's backbone for two-stage fine-tuning."""

from __future__ import annotations

import keras

from toolkit.models.heads import get_feature_extractor


def freeze_backbone(model: keras.Model) -> None:
    """Stage 1: only the head trains."""
    get_feature_extractor(model).trainable = False


def unfreeze_top_layers(model: keras.Model, num_layers: int) -> None:
    """Stage 2: the top `num_layers` backbone layers train; BatchNormalization never does.

    Unfrozen BatchNormalization layers would re-estimate their statistics
    from small fine-tuning batches and wreck the pretrained features, so
    they stay frozen (and, in Keras 3, run in inference mode) throughout.
    """
    set_top_layers_trainable(get_feature_extractor(model), num_layers)


def set_top_layers_trainable(feature_model: keras.Model, num_layers: int) -> None:
    """Makes the top `num_layers` layers of a feature model trainable, BatchNormalization excepted."""
    feature_model.trainable = True
    layers = feature_model.layers
    cut = max(0, len(layers) - num_layers)
    for index, layer in enumerate(layers):
        layer.trainable = index >= cut and not isinstance(layer, keras.layers.BatchNormalization)


def count_trainable_weights(model: keras.Model) -> int:
    """Number of trainable scalars (for tests and logs)."""
    return int(sum(keras.ops.size(w) for w in model.trainable_weights))
