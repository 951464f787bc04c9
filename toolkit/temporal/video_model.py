"""One Keras model from frames to verdict: encoder on every frame, then a temporal head.

    clip (B, T, H, W, 3) uint8 -> frame mask -> encoder per frame (B, T, F) -> head -> probabilities (B, K)

The same assembly serves every encoder and every head, so a run's vote, LSTM
and transformer models differ only in their head. Padding frames of short
videos are all zero; their features are zeroed too, so every head ignores
them. `split_video_model` takes the two halves apart again: inference encodes
each frame once and runs the head on any window of features.
"""

from __future__ import annotations

import keras

from toolkit.temporal.layers import ApplyMask, FrameMask, FramewiseApply

FRAME_ENCODER_NAME = "frame_encoder"
# The layer whose output is the clip's frame features (padding frames zeroed): the head's input.
FRAME_FEATURES_NAME = "zero_padding"


def build_video_model(encoder: keras.Model, head: keras.Model, num_frames: int, frame_size: int | None,
                      name: str = "video_model") -> keras.Model:
    """Clips of `num_frames` uint8 frames -> class probabilities.

    Args:
        encoder: frames `(B, H, W, 3)` -> features `(B, F)`.
        head: features `(B, num_frames, F)` -> probabilities `(B, K)`.
        num_frames: frames per clip.
        frame_size: the square side of the frames, or None for frames of any
            size (pose encoders letterbox them).
    """
    frame_shape = (frame_size, frame_size, 3) if frame_size else (None, None, 3)
    # === Functional Model ===
    clips = keras.Input(shape=(num_frames, *frame_shape), dtype="uint8", name="frames")
    mask = FrameMask(name="frame_mask")(clips)
    features = FramewiseApply(encoder, name=FRAME_ENCODER_NAME)(clips)
    features = ApplyMask(name=FRAME_FEATURES_NAME)(features, frame_mask=mask)
    outputs = head(features)
    return keras.Model(clips, outputs, name=name)


def split_video_model(model: keras.Model) -> tuple[keras.Model, keras.Model]:
    """(encoder, head) of a model built by `build_video_model`."""
    try:
        return model.get_layer(FRAME_ENCODER_NAME).layer, model.get_layer("head")
    except ValueError as error:
        raise ValueError(f"Model {model.name!r} is not a video model of this toolkit (it lacks the layers "
                         f"{FRAME_ENCODER_NAME!r} and 'head').") from error
