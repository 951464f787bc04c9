"""EfficientNetB0 from `keras.applications` as a frame classifier."""

from __future__ import annotations

import os
from pathlib import Path

import keras

from toolkit.errors import UserError
from toolkit.models.layers import FEATURES_NAME

IMAGENET_WEIGHTS_FILE = "efficientnetb0_notop.h5"
IMAGENET_WEIGHTS_URL = "https://storage.googleapis.com/keras-applications/" + IMAGENET_WEIGHTS_FILE


class WeightsUnavailableError(UserError, RuntimeError):
    """Pretrained weights could not be downloaded or read."""


def keras_cache_dir() -> Path:
    """Where Keras caches downloaded weights (`$KERAS_HOME/models`, default ~/.keras/models)."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"


def build_efficientnet_b0_features(image_size: int = 224, weights: str | None = "imagenet") -> keras.Model:
    """EfficientNetB0 without top, average-pooled: uint8-range images -> 1280 features.

    Keras' EfficientNet rescales and normalises inside the model, so it takes
    pixels in [0, 255] like every model here.

    With `weights="imagenet"`, a copy of Keras' weights file already in Keras'
    cache (`$KERAS_HOME/models/efficientnetb0_notop.h5`) is loaded directly,
    without the download Keras would attempt to verify it: an offline machine
    only needs the file copied there.

    Raises:
        WeightsUnavailableError: ImageNet weights could not be downloaded, or
            the weights file could not be read. Never falls back to random
            weights silently.
    """
    cached = keras_cache_dir() / IMAGENET_WEIGHTS_FILE
    source = str(cached) if weights == "imagenet" and cached.is_file() else weights
    try:
        backbone = keras.applications.EfficientNetB0(
            include_top=False, weights=source, input_shape=(image_size, image_size, 3), pooling="avg")
    except Exception as error:  # Keras raises plain Exception on a failed download.
        if source == "imagenet":
            raise WeightsUnavailableError(
                f"Could not download EfficientNetB0's ImageNet weights ({type(error).__name__}: {error}). "
                f"On a machine without internet, either copy {IMAGENET_WEIGHTS_FILE} (from "
                f"{IMAGENET_WEIGHTS_URL}) into Keras' cache {keras_cache_dir()}, or set "
                f"weights = '/path/to/{IMAGENET_WEIGHTS_FILE}' in config.py (or --weights PATH), "
                f"or use model_name = 'efficientnet_lite0', whose ImageNet weights install with pip, "
                f"or train from scratch with weights = None (expect lower accuracy).") from error
        if weights is not None:
            raise WeightsUnavailableError(
                f"Could not load EfficientNetB0 weights from {source!r} ({type(error).__name__}: {error}). "
                f"Expected Keras' {IMAGENET_WEIGHTS_FILE} (no top) or None; replace or delete a damaged "
                f"file.") from error
        raise
    return keras.Model(backbone.input, backbone.output, name=FEATURES_NAME)
