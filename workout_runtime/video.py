"""Reading videos: decode-measured metadata and frame sampling in bounded memory.

Container headers are not trusted: frame counts and frame rates in AVI, MKV
and re-muxed MP4 files are often wrong, so `probe_video` counts frames by
decoding and measures the frame rate from presentation timestamps.

`read_frames` samples frames in one sequential pass over the stream. It
*grabs* (demuxes and decodes) every frame but only converts, resizes and keeps
the frames it samples, so memory holds the kept frames and nothing else: a
four-minute 1080p video costs 16 small frames, not 7,000 large ones. Seeking is
avoided on purpose: on long-GOP H.264 every seek decodes from the previous
keyframe, and OpenCV's frame-accurate seeking is unreliable across containers.

Every failure (missing file, not a video, empty, truncated, corrupt) raises
`VideoReadError`, which names the file and the reason.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import cv2
import numpy as np

from workout_runtime.errors import UserError

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")

# A stream that fails this many grabs in a row, after the first frame, is
# treated as ended; corrupt packets in the middle of a file are skipped.
_MAX_CONSECUTIVE_FAILURES = 25
# A decoded count below this share of the container's declared count means the
# file was cut short (a partial download or copy), not a header rounding error.
_TRUNCATION_RATIO = 0.9


class VideoReadError(UserError):
    """A video could not be read. `path` and `reason` say which and why."""

    def __init__(self, path: str | os.PathLike, reason: str, hint: str | None = None):
        self.path = str(path)
        self.reason = reason
        hint = hint or ("Check that the file is a complete video (open it in a media player, or "
                        "re-encode it with `ffmpeg -i in.mp4 -c:v libx264 out.mp4`), or remove it "
                        "from the dataset.")
        super().__init__(f"Cannot read video '{self.path}': {reason}. {hint}")


@dataclasses.dataclass(frozen=True)
class VideoInfo:
    """Metadata of one video, measured by decoding it.

    Attributes:
        path: the file.
        frame_count: frames that actually decode.
        fps: frames per second, measured from timestamps (container value as
            a fallback).
        duration_s: frame_count / fps.
        width, height: decoded frame size in pixels.
        container_frame_count, container_fps: what the header claims.
    """

    path: str
    frame_count: int
    fps: float
    duration_s: float
    width: int
    height: int
    container_frame_count: int
    container_fps: float


@dataclasses.dataclass(frozen=True)
class Clip:
    """Frames sampled from a video.

    Attributes:
        frames: `(N, H, W, 3)` uint8 RGB.
        frame_indices: `(N,)` index of each frame in the decoded stream.
        timestamps_s: `(N,)` presentation time of each frame in seconds.
        info: the video's measured metadata.
    """

    frames: np.ndarray
    frame_indices: np.ndarray
    timestamps_s: np.ndarray
    info: VideoInfo


# The first bytes of the picture formats FFmpeg would also open as a one-frame video.
IMAGE_SIGNATURES = (("JPEG", b"\xff\xd8\xff"), ("PNG", b"\x89PNG\r\n\x1a\n"), ("GIF", b"GIF8"), ("BMP", b"BM"))


def _open(path: str | os.PathLike) -> cv2.VideoCapture:
    path = Path(path)
    if not path.exists():
        raise VideoReadError(path, "the file does not exist", "Check the path and the working directory.")
    if path.is_dir():
        raise VideoReadError(path, "it is a folder, not a file")
    if path.stat().st_size == 0:
        raise VideoReadError(path, "the file is empty (0 bytes)")
    with open(path, "rb") as f:
        head = f.read(12)
    kind = next((name for name, magic in IMAGE_SIGNATURES if head.startswith(magic)), None)
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":  # RIFF...AVI is a video
        kind = "WebP"
    if kind is not None:  # FFmpeg would open it as a one-frame "video"
        raise VideoReadError(path, f"it is a {kind} picture, not a video (whatever its extension)",
                             "Classify pictures with recipes/classify_image.py, or rename it.")
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if not capture.isOpened():
        capture.release()
        raise VideoReadError(path, "FFmpeg could not open it: it is not a video, or its container is "
                                   "corrupt or truncated (an MP4 cut short loses its index)")
    return capture


def _container_metadata(capture: cv2.VideoCapture) -> tuple[int, float, int, int]:
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
    width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH) or 0)
    height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
    return max(count, 0), fps if np.isfinite(fps) and fps > 0 else 0.0, width, height


def _measured_fps(timestamps_ms: list[float], container_fps: float) -> float:
    ts = np.asarray(timestamps_ms, dtype=np.float64)
    if len(ts) >= 2 and ts[-1] > ts[0]:
        steps = np.diff(ts)
        steps = steps[steps > 0]
        if len(steps):
            return float(1000.0 / np.median(steps))
    return container_fps if container_fps > 0 else 30.0


def _iterate_grabs(capture: cv2.VideoCapture, container_count: int = 0):
    """Yields (index, timestamp_ms) for every decodable frame, grabbing only.

    Stops at the end of the stream or after too many consecutive failures.
    """
    index = 0
    failures = 0
    while True:
        if not capture.grab():
            failures += 1
            # Before any frame decoded, one failure is the end: an empty stream.
            # Past the header's frame count it is the end too; retrying is
            # only worth it for a damaged frame in the middle of the stream.
            if index == 0 or failures >= _MAX_CONSECUTIVE_FAILURES or 0 < container_count <= index:
                return
            continue
        failures = 0
        yield index, float(capture.get(cv2.CAP_PROP_POS_MSEC))
        index += 1


def _check_count(path, decoded: int, container_count: int) -> None:
    if decoded == 0:
        raise VideoReadError(path, "no frame could be decoded (the stream is empty or corrupt)")
    if container_count > 0 and decoded < _TRUNCATION_RATIO * container_count:
        raise VideoReadError(path, f"the video is truncated or corrupt: its header declares "
                                   f"{container_count} frames but only {decoded} decode")


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Measures a video's metadata by decoding every frame (grab only).

    Raises:
        VideoReadError: the file is missing, not a video, empty or truncated.
    """
    capture = _open(path)
    try:
        container_count, container_fps, width, height = _container_metadata(capture)
        timestamps = [ts for _, ts in _iterate_grabs(capture, container_count)]
    finally:
        capture.release()
    _check_count(path, len(timestamps), container_count)
    fps = _measured_fps(timestamps, container_fps)
    return VideoInfo(str(path), len(timestamps), fps, len(timestamps) / fps, width, height,
                     container_count, container_fps)


def header_duration_s(path: str | os.PathLike) -> float:
    """The duration the container's header claims (frame count / fps), without decoding; 0.0 if it says
    nothing usable. For planning how densely to sample; `probe_video` measures the truth.

    Raises:
        VideoReadError: the file is missing or not a video.
    """
    capture = _open(path)
    try:
        count, fps, _, _ = _container_metadata(capture)
    finally:
        capture.release()
    return count / fps if count > 0 and fps > 0 else 0.0


def uniform_indices(frame_count: int, num_frames: int) -> np.ndarray:
    """`num_frames` indices spread uniformly in time over `frame_count` frames.

    Each index is the centre of one of `num_frames` equal segments (the TSN
    sampling). A video shorter than `num_frames` gives each frame once, so the
    result may be shorter than asked; callers pad and mask.
    """
    if frame_count <= 0 or num_frames <= 0:
        return np.zeros((0,), dtype=np.int64)
    if frame_count <= num_frames:
        return np.arange(frame_count, dtype=np.int64)
    centres = (np.arange(num_frames) + 0.5) * frame_count / num_frames
    return np.minimum(centres.astype(np.int64), frame_count - 1)


def _normalise_size(size) -> tuple[int, int] | None:
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
    target = _normalise_size(size) or bounded_size(frames.shape[1], frames.shape[2], max_side)
    return np.stack([resize_frame(f, target) for f in frames])


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
    capture = capture if capture is not None else _open(path)
    frames, indices, stamps, all_stamps = [], [], [], []
    try:
        for index, ts in _iterate_grabs(capture, container_count):
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
    _check_count(path, len(all_stamps), container_count)
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
    fps = _measured_fps(all_stamps, container_fps)
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
    size = _normalise_size(size)
    capture = _open(path)
    container = _container_metadata(capture)
    container_count = container[0]
    width, height = container[2], container[3]
    if size is None and max_side is not None and max(width, height) > max_side:
        size = bounded_size(height, width, max_side)

    if every_seconds is not None:
        if not every_seconds > 0:
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

        result = _read_selected(path, by_rate, size, container_count, capture, on_frame, keep)
        return _to_clip(path, *result[:3], result[4], container, size)

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
        capture = _open(path)
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
