"""Opening videos: decode-measured metadata, clear errors, and which frames to pick.

Container headers are not trusted: frame counts and frame rates in AVI, MKV
and re-muxed MP4 files are often wrong, so `probe_video` counts frames by
decoding and measures the frame rate from presentation timestamps. Sampling
frames is `workout_runtime.sampling.read_frames`.

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


def open_video(path: str | os.PathLike) -> cv2.VideoCapture:
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


def container_metadata(capture: cv2.VideoCapture) -> tuple[int, float, int, int]:
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
    width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH) or 0)
    height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
    return max(count, 0), fps if np.isfinite(fps) and fps > 0 else 0.0, width, height


def measured_fps(timestamps_ms: list[float], container_fps: float) -> float:
    ts = np.asarray(timestamps_ms, dtype=np.float64)
    if len(ts) >= 2 and ts[-1] > ts[0]:
        steps = np.diff(ts)
        steps = steps[steps > 0]
        if len(steps):
            return float(1000.0 / np.median(steps))
    return container_fps if container_fps > 0 else 30.0


def iterate_grabs(capture: cv2.VideoCapture, container_count: int = 0):
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


def check_decoded_count(path, decoded: int, container_count: int) -> None:
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
    capture = open_video(path)
    try:
        container_count, container_fps, width, height = container_metadata(capture)
        timestamps = [ts for _, ts in iterate_grabs(capture, container_count)]
    finally:
        capture.release()
    check_decoded_count(path, len(timestamps), container_count)
    fps = measured_fps(timestamps, container_fps)
    return VideoInfo(str(path), len(timestamps), fps, len(timestamps) / fps, width, height,
                     container_count, container_fps)


def header_duration_s(path: str | os.PathLike) -> float:
    """The duration the container's header claims (frame count / fps), without decoding; 0.0 if it says
    nothing usable. For planning how densely to sample; `probe_video` measures the truth.

    Raises:
        VideoReadError: the file is missing or not a video.
    """
    capture = open_video(path)
    try:
        count, fps, _, _ = container_metadata(capture)
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
