"""Vote pooling: a frame classifier becomes a video classifier over `(T, H, W, 3)` clips."""

from __future__ import annotations

import keras

from toolkit.temporal.layers import FrameMask, FramewiseApply, VotePooling


def build_vote_classifier(frame_classifier: keras.Model, num_frames: int, image_size: int,
                          method: str = "mean") -> keras.Model:
    """Clip `(B, T, S, S, 3)` uint8-range -> pooled class probabilities `(B, K)`.

    The frame classifier runs on every real frame (all-zero padding frames of
    short videos are masked out) and `VotePooling(method)` pools the frames.
    The model saves and loads as `.keras` like any other.
    """
    # === Functional Model ===
    clips = keras.Input(shape=(num_frames, image_size, image_size, 3), name="clip")
    mask = FrameMask(name="frame_mask")(clips)
    frame_probabilities = FramewiseApply(frame_classifier, name="frame_classifier")(clips)
    outputs = VotePooling(method, name=f"vote_{method}")(frame_probabilities, frame_mask=mask)
    return keras.Model(clips, outputs, name=f"vote_{method}_{frame_classifier.name}")
