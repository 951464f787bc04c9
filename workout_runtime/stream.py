"""Rolling verdicts over a live source: a webcam, an RTSP/HTTP stream, or a file played at its own pace.

The source is read frame by frame; one frame every `window_s / num_frames`
seconds is kept in a ring buffer of `num_frames` (memory does not grow with
the stream's length), and every `stride_s` seconds the classifier judges the
buffer. Each verdict carries its latency: from the capture of the newest frame
it saw to the verdict being ready.
"""

from __future__ import annotations

import collections
import dataclasses
import time
from typing import Callable, Iterator

import numpy as np

from workout_runtime.errors import UserError


class StreamError(UserError):
    """A source that cannot be opened (or reopened)."""


def parse_source(source: str) -> int | str:
    """A webcam index ("0") or a path / URL as given."""
    return int(source) if source.isdigit() else source


def is_live(source: int | str) -> bool:
    return isinstance(source, int) or "://" in str(source)


@dataclasses.dataclass
class StreamVerdict:
    """One rolling verdict: the window it covers (stream seconds) and how long it took."""

    prediction: object
    window_start_s: float
    window_end_s: float
    latency_s: float

    def to_dict(self) -> dict:
        return {**self.prediction.to_dict(), "window_start_s": round(self.window_start_s, 3),
                "window_end_s": round(self.window_end_s, 3), "latency_s": round(self.latency_s, 4)}


def _open(source: int | str):
    import cv2

    capture = cv2.VideoCapture(source)
    if not capture.isOpened():
        capture.release()
        raise StreamError(f"Cannot open the stream source {source!r}: check the webcam index, the URL, or the file "
                          f"path (and that OpenCV was built with the codec it needs).")
    return capture


# Seconds a reopened source must deliver before its reconnection tries start again.
STABLE_S = 30.0


def frames_of(source: int | str, realtime: bool, reconnect: int = 0, backoff_s: float = 1.0,
              log: Callable[[str], None] = lambda _: None) -> Iterator[tuple[np.ndarray, float, float]]:
    """Yields (RGB frame, stream time in seconds, wall-clock capture time) until the source ends.

    A file is played at its own frame rate when `realtime` (as a camera
    would deliver it), else as fast as it decodes. A live source that drops is
    reopened up to `reconnect` times, waiting `backoff_s`, then twice as long
    each time; its stream time goes on from where it stopped. The count starts
    again only after the source has delivered for `STABLE_S` seconds, so a
    source that keeps coming back and dropping is given up on.
    """
    import cv2

    capture = _open(source)
    live = is_live(source)
    fps = capture.get(cv2.CAP_PROP_FPS) or 0.0
    fps = fps if 1.0 <= fps <= 240.0 else 30.0
    started = time.monotonic()
    index, offset, attempts, reopened = 0, 0.0, 0, started
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                capture.release()
                capture = None
                while capture is None:
                    if not live or attempts >= reconnect:
                        return
                    wait = backoff_s * 2 ** attempts
                    attempts += 1
                    log(f"stream dropped; reconnecting in {wait:g} s (attempt {attempts} of {reconnect})")
                    time.sleep(wait)
                    try:
                        capture = _open(source)
                        reopened = time.monotonic()
                    except StreamError:
                        pass
                continue
            now = time.monotonic()
            # Only a source that has delivered for a while since it came back earns its tries anew: one that
            # drops again at once is the same failure, and its tries run out.
            if attempts and now - reopened >= STABLE_S:
                attempts = 0
            stream_s = (now - started) if live else index / fps
            if not live and realtime:  # a file: wait until this frame's time has come
                delay = started + stream_s - now
                if delay > 0:
                    time.sleep(delay)
                now = time.monotonic()
            index += 1
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), stream_s + offset, now
    finally:
        if capture is not None:
            capture.release()


def rolling_verdicts(classifier, frames: Iterator[tuple[np.ndarray, float, float]], window_s: float,
                     stride_s: float) -> Iterator[StreamVerdict]:
    """Every `stride_s` stream seconds, the classifier's verdict on the last `window_s` seconds.

    Keeps `classifier.num_frames` frames, one per `window_s / num_frames`
    seconds, already in the classifier's geometry.
    """
    if not (window_s > 0 and stride_s > 0):
        raise ValueError(f"Received: window_s={window_s!r}, stride_s={stride_s!r}; expected positive numbers")
    period = window_s / classifier.num_frames
    kept: collections.deque = collections.deque(maxlen=classifier.num_frames)
    next_keep = next_verdict = None
    for frame, stream_s, captured in frames:
        if next_keep is None:
            next_keep, next_verdict = stream_s, stream_s + min(stride_s, window_s)
        if stream_s + 1e-9 >= next_keep:
            kept.append((classifier.prepare_frames(frame[None])[0], stream_s, captured))
            next_keep += period * max(1, int((stream_s - next_keep) // period) + 1)
        if stream_s + 1e-9 >= next_verdict and kept:
            next_verdict += stride_s * max(1, int((stream_s - next_verdict) // stride_s) + 1)
            window = np.stack([f for f, _, _ in kept])
            prediction = classifier.classify_frames(window, "<stream>", kept[0][1], kept[-1][1] + period)
            yield StreamVerdict(prediction, kept[0][1], kept[-1][1] + period, time.monotonic() - kept[-1][2])
