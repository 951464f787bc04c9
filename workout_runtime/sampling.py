"""Sampling frames from a video in bounded memory: uniform in time, or one every so many seconds.

`read_frames` samples frames in one sequential pass over the stream. It
*grabs* (demuxes and decodes) every frame but only converts, resizes and keeps
the frames it samples, so memory holds the kept frames and nothing else: a
four-minute 1080p video costs 16 small frames, not 7,000 large ones. Seeking is
used only across gaps longer than a keyframe interval: on long-GOP H.264 every
seek decodes from the previous keyframe, and OpenCV's frame-accurate seeking is
unreliable across containers (a seek that misses falls back to a pass).
"""

from __future__ import annotations

import os
import queue
import threading

import cv2
import numpy as np

from workout_runtime.frame_geometry import bounded_size, normalise_size, resize_frame
from workout_runtime.video import (Clip, VideoInfo, check_decoded_count, container_metadata, iterate_grabs,
                                   measured_fps, open_video, probe_video, uniform_indices)


def _convert(frame_bgr: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    if size is not None:
        frame_bgr = resize_frame(frame_bgr, size)
    return cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB)


def _read_selected(path, selector, size, container_count: int, capture: cv2.VideoCapture | None = None,
                   on_frame=None, keep: bool = True):
    """One sequential pass; `selector(index, timestamp_ms)` says which frames to keep.

    Uses (and releases) `capture` if given, else opens the file; `on_frame`
    receives each kept frame (with its index and time in seconds from the
    first frame) as soon as it is decoded; `keep=False` holds no frame.
    Returns (frames, indices, timestamps_ms, decoded_count, all_timestamps_ms).
    """
    capture = capture if capture is not None else open_video(path)
    frames, indices, stamps, all_stamps = [], [], [], []
    try:
        for index, ts in iterate_grabs(capture, container_count):
            all_stamps.append(ts)
            repeats = selector(index, ts)
            if repeats:
                ok, frame = capture.retrieve()
                if not ok or frame is None:
                    continue
                converted = _convert(frame, size)
                if on_frame is not None:
                    on_frame(converted, index, (ts - all_stamps[0]) / 1000.0)
                for _ in range(repeats):
                    if keep:
                        frames.append(converted)
                    indices.append(index)
                    stamps.append(ts)
    finally:
        capture.release()
    check_decoded_count(path, len(all_stamps), container_count)
    return frames, indices, stamps, len(all_stamps), all_stamps


def _read_by_seeking(capture: cv2.VideoCapture, targets: np.ndarray, size, seek_gap: int, on_frame=None,
                     keep: bool = True):
    """Reads `targets` (sorted frame indices), seeking across gaps longer than `seek_gap`.

    Returns (frames, timestamps_ms) or None if the stream ended early or a
    seek did not land where asked (the caller then falls back to a
    sequential pass, which also diagnoses truncation).
    """
    frames, stamps = [], []
    position = 0  # index of the next frame grab() returns
    for target in targets:
        target = int(target)
        if target - position > seek_gap:
            capture.set(cv2.CAP_PROP_POS_FRAMES, target)
            position = target
        while position < target:
            if not capture.grab():
                return None
            position += 1
        if not capture.grab():
            return None
        position += 1
        if int(round(capture.get(cv2.CAP_PROP_POS_FRAMES))) != position:
            return None
        ok, frame = capture.retrieve()
        if not ok or frame is None:
            return None
        converted = _convert(frame, size)
        stamps.append(float(capture.get(cv2.CAP_PROP_POS_MSEC)))
        if keep:
            frames.append(converted)
        if on_frame is not None:
            on_frame(converted, target, stamps[-1] / 1000.0)
    return frames, stamps


def _to_clip(path, frames, indices, stamps_ms, all_stamps, container, size) -> Clip:
    container_count, container_fps, width, height = container
    fps = measured_fps(all_stamps, container_fps)
    info = VideoInfo(str(path), len(all_stamps), fps, len(all_stamps) / fps, width, height,
                     container_count, container_fps)
    if frames and len(frames) == len(indices):
        array = np.stack(frames)
    else:  # nothing sampled, or frames handed to a callback and not kept
        h, w = size if size is not None else (height, width)
        array = np.zeros((0, h, w, 3), dtype=np.uint8)
    # Timestamps relative to the first frame: some containers start at an offset.
    origin = all_stamps[0] if all_stamps else 0.0
    return Clip(array, np.asarray(indices, dtype=np.int64),
                (np.asarray(stamps_ms, dtype=np.float64) - origin) / 1000.0, info)


# Seek only across gaps longer than this many frames: a seek decodes from the
# previous keyframe, and x264's default keyframe interval is 250 frames, so
# over a longer gap a seek decodes fewer frames than grabbing through it.
SEEK_GAP = 250


def read_frames(path: str | os.PathLike, num_frames: int | None = None, *,
                every_seconds: float | None = None, size=None, max_side: int | None = None,
                seek_gap: int | None = SEEK_GAP, on_frame=None, keep: bool = True) -> Clip:
    """Samples frames from a video as RGB uint8 arrays.

    Exactly one of `num_frames` (uniform in time over the whole video) or
    `every_seconds` (one frame each period, starting with the first frame)
    must be given.

    Args:
        path: the video file.
        num_frames: how many frames to sample uniformly in time. A video with
            fewer frames returns each of its frames once.
        every_seconds: sampling period in seconds.
        size: `(height, width)` or an int for square frames; None keeps the
            decoded size.
        max_side: with `size=None`, shrink frames whose long side exceeds
            this, keeping their aspect ratio (bounds memory on long videos).
        seek_gap: with `num_frames`, seek instead of decoding through gaps
            between sampled frames longer than this (long videos); None
            always reads sequentially. Seeking trusts the header's frame
            count (the result's `info.frame_count` is then that count) and
            falls back to a sequential, decode-measured pass if a seek fails.
        on_frame: optional callback `on_frame(frame, index, time_s)` receiving
            each sampled frame as soon as it is decoded (to overlap decoding
            with inference, or to write frames without holding them). It
            receives `(None, -1, 0.0)` when a pass is abandoned and restarted
            (a header that lied about the frame count): discard what it had.
        keep: False holds no frame in memory (the result's `frames` is
            empty; use `on_frame`), so memory does not grow with the video.

    Returns:
        A `Clip`; only the sampled frames are ever held in memory.

    Raises:
        VideoReadError: missing, empty, truncated or corrupt file.
        ValueError: invalid sampling arguments.
    """
    if (num_frames is None) == (every_seconds is None):
        raise ValueError(f"Give exactly one of num_frames or every_seconds. "
                         f"Received: num_frames={num_frames!r}, every_seconds={every_seconds!r}")
    size = normalise_size(size)
    capture = open_video(path)
    container = container_metadata(capture)
    width, height = container[2], container[3]
    if size is None and max_side is not None and max(width, height) > max_side:
        size = bounded_size(height, width, max_side)

    if every_seconds is not None:
        return _read_every(path, capture, container, every_seconds, size, on_frame, keep)
    return _read_uniform(path, capture, container, num_frames, size, seek_gap, on_frame, keep)


def _read_every(path, capture, container, every_seconds: float, size, on_frame, keep: bool) -> Clip:
    """One frame each `every_seconds`, starting with the first: one sequential pass."""
    if not every_seconds > 0:
        capture.release()
        raise ValueError(f"Received: every_seconds={every_seconds!r}; expected a positive number")
    state = {"next": None}

    def by_rate(index: int, ts: float) -> int:
        if state["next"] is None:
            state["next"] = ts
        # Half a millisecond of slack absorbs timestamp rounding.
        if ts + 0.5 >= state["next"]:
            state["next"] += every_seconds * 1000.0
            return 1
        return 0

    result = _read_selected(path, by_rate, size, container[0], capture, on_frame, keep)
    return _to_clip(path, *result[:3], result[4], container, size)


def _read_uniform(path, capture, container, num_frames: int, size, seek_gap, on_frame, keep: bool) -> Clip:
    """`num_frames` frames uniform in time: by seeking over long gaps, else one sequential pass (two when the
    header's frame count is wrong)."""
    container_count = container[0]
    if num_frames <= 0:
        capture.release()
        raise ValueError(f"Received: num_frames={num_frames!r}; expected a positive integer")

    def by_index(targets: np.ndarray):
        counts = np.bincount(targets, minlength=1) if len(targets) else np.zeros(1, np.int64)
        return lambda index, ts: int(counts[index]) if index < len(counts) else 0

    # One pass when the header's count is right (the usual case), a second
    # pass with the measured count when it is not.
    estimate = container_count if container_count > 0 else 0
    targets = uniform_indices(estimate, num_frames)
    if estimate and seek_gap is not None and len(targets) > 1 and np.diff(targets).max() > seek_gap:
        seeked = _read_by_seeking(capture, targets, size, seek_gap, on_frame, keep)
        capture.release()
        if seeked is None and on_frame is not None:
            on_frame(None, -1, 0.0)
        if seeked is not None:
            frames, stamps = seeked
            info = VideoInfo(str(path), estimate, container[1] or 30.0, estimate / (container[1] or 30.0),
                             container[2], container[3], container_count, container[1])
            array = np.stack(frames) if frames else np.zeros((0, *(size or (container[3], container[2])), 3), np.uint8)
            return Clip(array, targets, np.asarray(stamps) / 1000.0, info)
        capture = open_video(path)
    if estimate:
        frames, indices, stamps, decoded, all_stamps = _read_selected(
            path, by_index(targets), size, container_count, capture, on_frame, keep)
        if decoded == estimate:
            return _to_clip(path, frames, indices, stamps, all_stamps, container, size)
        del frames
        if on_frame is not None:
            on_frame(None, -1, 0.0)
    else:
        capture.release()
        decoded = probe_video(path).frame_count
    frames, indices, stamps, _, all_stamps = _read_selected(
        path, by_index(uniform_indices(decoded, num_frames)), size, container_count, on_frame=on_frame, keep=keep)
    return _to_clip(path, frames, indices, stamps, all_stamps, container, size)

def read_and_encode(path, encode, num_frames: int | None = None, every_seconds: float | None = None,
                    keep=(), chunk: int = 4, **geometry) -> tuple[np.ndarray, Clip, np.ndarray]:
    """`read_frames` with each sampled frame handed to `encode` while decoding goes on, holding no decoded frame
    but the `keep`-th sampled ones.

    A worker thread encodes every `chunk` frames (OpenCV, TensorFlow and the
    light runtimes release the GIL), so decoding and the model overlap.

    Args:
        encode: `(n, H, W, 3)` uint8 frames -> `(n, ...)` items (also called on no frame at all).
        geometry: `size` or `max_side`, as `read_frames` takes them.

    Returns:
        `(N, ...)` items, the clip (timestamps; no frames) and the kept frames.
    """
    frames: queue.Queue = queue.Queue(maxsize=4 * chunk)
    outputs: list[np.ndarray] = []
    failure: list[BaseException] = []
    kept: list[np.ndarray] = []
    wanted, seen = set(int(k) for k in keep), [0]
    done = object()

    def worker() -> None:
        batch: list[np.ndarray] = []
        while True:
            item = frames.get()
            if failure:
                if item is done:
                    return
                continue
            try:
                if item is None:  # the reader restarted its pass
                    batch.clear()
                    outputs.clear()
                    continue
                if item is not done:
                    batch.append(item)
                if batch and (item is done or len(batch) == chunk):
                    outputs.append(encode(np.stack(batch)))
                    batch = []
            except BaseException as error:  # surfaced in the caller's thread
                failure.append(error)
            if item is done:
                return

    def on_frame(frame, index, time_s) -> None:
        if frame is None:
            kept.clear()
            seen[0] = 0
        elif seen[0] in wanted:
            kept.append(frame)
        seen[0] += frame is not None
        frames.put(frame)

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    try:
        clip = read_frames(path, num_frames, every_seconds=every_seconds, keep=False, on_frame=on_frame,
                           **geometry)
    finally:
        frames.put(done)
        thread.join()
    if failure:
        raise failure[0]
    items = np.concatenate(outputs) if outputs else encode(clip.frames)
    return items, clip, np.stack(kept) if kept else clip.frames
