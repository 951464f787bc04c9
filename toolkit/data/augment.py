"""Training-time augmentation with albumentations, per image or per clip.

A clip gets one random draw applied to all its frames (albumentations'
`images=` target), as tensorflow/models does for video: a flip or a shift
that changed from frame to frame would invent motion that is not there.
"""

from __future__ import annotations

import dataclasses

import albumentations as A
import numpy as np


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    """Probabilities and strengths of each augmentation; 0 disables one."""

    horizontal_flip: float = 0.5
    affine: float = 0.6
    max_shift: float = 0.08
    max_scale: float = 0.12
    max_rotate_degrees: float = 10.0
    brightness_contrast: float = 0.5
    colour_jitter: float = 0.5
    blur: float = 0.15
    coarse_dropout: float = 0.25


def build_augmenter(config: AugmentConfig = AugmentConfig(), seed: int | None = None) -> A.Compose:
    """An albumentations pipeline over uint8 RGB images (or clips via `images=`)."""
    transforms = [
        A.HorizontalFlip(p=config.horizontal_flip),
        A.Affine(scale=(1 - config.max_scale, 1 + config.max_scale),
                 translate_percent=(-config.max_shift, config.max_shift),
                 rotate=(-config.max_rotate_degrees, config.max_rotate_degrees),
                 border_mode=0, p=config.affine),
        A.RandomBrightnessContrast(p=config.brightness_contrast),
        # Clothes and walls come in every colour; hue must not identify a class.
        A.HueSaturationValue(hue_shift_limit=25, sat_shift_limit=30, val_shift_limit=0, p=config.colour_jitter),
        A.GaussianBlur(blur_limit=(3, 5), p=config.blur),
        A.CoarseDropout(num_holes_range=(1, 4), hole_height_range=(0.05, 0.15),
                        hole_width_range=(0.05, 0.15), p=config.coarse_dropout),
    ]
    return A.Compose(transforms, seed=seed)


def augment_image(augmenter: A.Compose, image: np.ndarray) -> np.ndarray:
    """One image `(H, W, 3)` uint8 -> augmented uint8."""
    return augmenter(image=image)["image"]


def augment_clip(augmenter: A.Compose, frames: np.ndarray) -> np.ndarray:
    """A clip `(T, H, W, 3)` uint8 -> the same random augmentation on every frame."""
    return np.ascontiguousarray(augmenter(images=frames)["images"])
