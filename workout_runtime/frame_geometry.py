"""Frame geometry: the one resize every path uses, a model's frame size, and padding.

A model takes square frames of one size (pixel encoders) or frames of any size
whose long side is bounded (pose encoders). Decoding (`workout_runtime.video`),
streams, uploads, exported models' runtime and the training pipeline all size
frames through `resize_frame`, so a model sees the same pixels in training and
in use (benchmarks/preprocessing.py).
"""

from __future__ import annotations

import cv2
import numpy as np


def normalise_size(size) -> tuple[int, int] | None:
    if size is None:
        return None
    if isinstance(size, int):
        return (size, size)
    height, width = size
    if int(height) <= 0 or int(width) <= 0:
        raise ValueError(f"Received: size={size!r}; expected positive (height, width) or an int")
    return int(height), int(width)


def resize_frame(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """One frame (any channel order) -> `(height, width)` by area averaging: the toolkit's only resize.

    Decoding, streams, uploads, exported models' runtime and the training
    pipeline (on extracted frames) all resize through here, so a model sees
    the same pixels in training and in use.
    """
    height, width = frame.shape[:2]
    if (height, width) == tuple(size):
        return frame
    # Area averaging in two steps when shrinking by 4x or more: OpenCV's exact-halving path is fast, and the
    # result differs from one direct INTER_AREA resize by a quarter of a grey level on average (1080p to 224 px:
    # 2.8 ms instead of 7 ms per frame).
    if height // 2 >= 2 * size[0] and width // 2 >= 2 * size[1]:
        frame = cv2.resize(frame, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
    return cv2.resize(frame, (size[1], size[0]), interpolation=cv2.INTER_AREA)


def bounded_size(height: int, width: int, max_side: int | None) -> tuple[int, int]:
    """`(height, width)` shrunk, aspect kept, so that the long side is at most `max_side` (None: unchanged)."""
    if max_side is None or max(height, width) <= max_side:
        return height, width
    scale = max_side / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def fit_frames(frames: np.ndarray, size=None, max_side: int | None = None) -> np.ndarray:
    """Frames decoded elsewhere `(N, H, W, 3)` into a model's geometry: square `size`, or the long side
    bounded by `max_side`, as `read_frames` would have read them."""
    frames = np.asarray(frames)
    if not len(frames):
        return frames
    target = normalise_size(size) or bounded_size(frames.shape[1], frames.shape[2], max_side)
    return np.stack([resize_frame(f, target) for f in frames])


def pad_frames(frames: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Pads (or cuts) `(N, H, W, C)` frames to `length`; returns (frames, mask).

    Padding frames are zeros and their mask entries False, so sequence models
    can ignore them.
    """
    n = min(len(frames), length)
    padded = np.zeros((length, *frames.shape[1:]), dtype=frames.dtype)
    padded[:n] = frames[:n]
    mask = np.zeros((length,), dtype=bool)
    mask[:n] = True
    return padded, mask
