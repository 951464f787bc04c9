"""Freezing and unfreezing an encoder for two-stage fine-tuning."""

from __future__ import annotations

import keras


def set_top_layers_trainable(encoder: keras.Model, num_layers: int) -> None:
    """Makes the top `num_layers` layers of an encoder trainable, BatchNormalization never.

    Unfrozen BatchNormalization layers would re-estimate their statistics
    from small fine-tuning batches and wreck the pretrained features, so
    they stay frozen (and, in Keras 3, run in inference mode) throughout.
    """
    encoder.trainable = True
    layers = encoder.layers
    cut = max(0, len(layers) - num_layers)
    for index, layer in enumerate(layers):
        layer.trainable = index >= cut and not isinstance(layer, keras.layers.BatchNormalization)


def count_trainable_weights(model: keras.Model) -> int:
    """Number of trainable scalars (for tests and logs)."""
    return int(sum(keras.ops.size(w) for w in model.trainable_weights))
