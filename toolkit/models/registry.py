"""Frame models by name: a plain dict from `model_name` to its factory.

An unknown name fails loudly with the list of known names, as in timm.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import keras

from toolkit.models.custom_cnn import build_custom_cnn
from toolkit.models.efficientnet import build_efficientnet_b0
from toolkit.models.efficientnet_lite import build_efficientnet_lite0


@dataclasses.dataclass(frozen=True)
class FrameModelSpec:
    """Metadata of a registered frame model.

    Attributes:
        build: `build(num_classes, image_size, weights, dropout) -> keras.Model`.
        default_image_size: the input size the model was designed for.
        pretrained: whether `weights="imagenet"` is available.
    """

    build: Callable[..., keras.Model]
    default_image_size: int
    pretrained: bool


FRAME_MODELS: dict[str, FrameModelSpec] = {
    "efficientnet_b0": FrameModelSpec(build_efficientnet_b0, 224, pretrained=True),
    "efficientnet_lite0": FrameModelSpec(build_efficientnet_lite0, 224, pretrained=True),
    "custom_cnn": FrameModelSpec(build_custom_cnn, 128, pretrained=False),
}
FRAME_MODEL_NAMES = tuple(FRAME_MODELS)

# Pretrained pose encoders (MoveNet, TF.js graph models; see toolkit.models.pose):
# `model_name` -> the variant. A pose run describes each frame by keypoint
# features and trains small heads on them instead of a pixel classifier.
POSE_MODELS: dict[str, str] = {"movenet_lightning": "lightning", "movenet_thunder": "thunder"}
MODEL_NAMES = FRAME_MODEL_NAMES + tuple(POSE_MODELS)


def is_pose_model(model_name: str) -> bool:
    """Whether `model_name` names a pose encoder rather than a pixel frame classifier."""
    return model_name in POSE_MODELS


def get_frame_model_spec(model_name: str) -> FrameModelSpec:
    """The registered spec for `model_name`; raises ValueError listing the choices."""
    if model_name in POSE_MODELS:
        raise ValueError(f"Received: model_name={model_name!r}, a pose encoder, where a pixel frame classifier "
                         f"(one of {list(FRAME_MODELS)}) is needed. Pose runs are trained by "
                         f"toolkit.training.pose_trainer (the recipes choose it from model_name).")
    if model_name not in FRAME_MODELS:
        raise ValueError(f"Unknown frame model. Received: model_name={model_name!r}; "
                         f"expected one of {list(MODEL_NAMES)}")
    return FRAME_MODELS[model_name]


def build_frame_classifier(model_name: str, num_classes: int, image_size: int = 224,
                           weights: str | None = None, dropout: float = 0.2) -> keras.Model:
    """Builds the frame classifier registered as `model_name`.

    Args:
        model_name: a key of `FRAME_MODELS`.
        num_classes: size of the softmax head.
        image_size: square input size in pixels.
        weights: "imagenet" (the pretrained weights where the model has
            them; a model without any, like custom_cnn, starts from random
            weights), a weights-file path, or None (random init).
        dropout: dropout rate before the head.

    Returns:
        A functional model mapping uint8-range images `(B, H, W, 3)` to class
        probabilities. Its sub-model `features` (see `get_feature_extractor`)
        maps the same images to pooled feature vectors.
    """
    spec = get_frame_model_spec(model_name)
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"Received: num_classes={num_classes!r}; expected an integer >= 2")
    if weights == "imagenet" and not spec.pretrained:
        weights = None
    return spec.build(num_classes=num_classes, image_size=image_size, weights=weights, dropout=dropout)
