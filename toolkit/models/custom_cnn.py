"""A small CNN trained from scratch: four widening conv blocks and global pooling."""

from __future__ import annotations

import keras

from toolkit.models.layers import FEATURES_NAME

FILTERS = (32, 64, 128, 256)


def build_custom_cnn_features(image_size: int | None = None, weights: str | None = None,
                              filters=FILTERS) -> keras.Model:
    """Images of any size, uint8 range -> pooled features of size `filters[-1]`.

    Args:
        image_size: accepted for a uniform factory signature; the network
            ends in global pooling and takes any input size.
        weights: None (random initialisation) or a Keras weights file of
            this model.
    """
    del image_size
    # === Layers ===
    inputs = keras.Input(shape=(None, None, 3), name="image")
    # Preprocessing lives in the model so one [0, 255] pipeline feeds every model.
    x = keras.layers.Rescaling(1.0 / 255, name="rescale")(inputs)
    for block, width in enumerate(filters, start=1):
        # No bias: the following BatchNormalization has its own shift.
        x = keras.layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"block{block}_conv")(x)
        # Momentum 0.9 instead of Keras' 0.99: trained from scratch for a few
        # hundred steps, slow moving averages lag the weights and inference
        # (which uses them) collapses while training accuracy looks fine.
        x = keras.layers.BatchNormalization(momentum=0.9, name=f"block{block}_bn")(x)
        x = keras.layers.ReLU(name=f"block{block}_relu")(x)
        x = keras.layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
    outputs = keras.layers.GlobalMaxPooling2D(name="pool")(x)
    model = keras.Model(inputs, outputs, name=FEATURES_NAME)
    if weights is not None:
        model.load_weights(weights)
    return model
