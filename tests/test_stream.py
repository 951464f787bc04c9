"""Rolling verdicts over a stream: bounded memory, stride and window timing, reconnection, without TensorFlow."""

import numpy as np
import pytest

from workout_runtime import stream
from workout_runtime.stream import StreamError, frames_of, rolling_verdicts
from workout_runtime.verdicts import ACCEPT_ALL, make_verdict


class CountingClassifier:
    """Says "squat" with the share of bright frames as confidence; records every window it is given."""

    num_frames = 8
    class_names = ["squat", "push_up"]

    def __init__(self):
        self.windows = []

    def prepare_frames(self, frames):
        return np.asarray(frames)[:, ::4, ::4]

    def classify_frames(self, frames, path="<frames>", start_s=0.0, end_s=0.0):
        self.windows.append((len(frames), start_s, end_s))
        bright = float(np.mean([f.mean() > 100 for f in frames]))
        return make_verdict(path, np.array([bright, 1 - bright]), self.class_names, len(frames), len(frames),
                            ACCEPT_ALL, start_s, end_s)


def synthetic_stream(seconds, fps=30, bright_from=None):
    for i in range(int(seconds * fps)):
        t = i / fps
        value = 200 if bright_from is not None and t >= bright_from else 20
        yield np.full((32, 32, 3), value, np.uint8), t, 0.0


def test_a_verdict_every_stride_over_the_last_window_with_bounded_memory():
    classifier = CountingClassifier()
    verdicts = list(rolling_verdicts(classifier, synthetic_stream(600), window_s=4.0, stride_s=1.0))  # 10 minutes
    assert len(verdicts) == pytest.approx(600, abs=2)
    assert max(n for n, _, _ in classifier.windows) == classifier.num_frames  # never more than the window
    for v in verdicts[5:]:
        assert v.window_end_s - v.window_start_s == pytest.approx(4.0, abs=0.05)
    ends = [v.window_end_s for v in verdicts]
    assert np.allclose(np.diff(ends), 1.0, atol=0.05)


def test_the_verdict_follows_the_stream():
    verdicts = list(rolling_verdicts(CountingClassifier(), synthetic_stream(20, bright_from=10), 2.0, 1.0))
    labels = [v.prediction.label for v in verdicts]
    assert labels[:8] == ["push_up"] * 8 and labels[-8:] == ["squat"] * 8
    assert all(v.latency_s >= 0 for v in verdicts)


def test_bad_window_or_stride_is_refused():
    with pytest.raises(ValueError, match="window_s=0"):
        list(rolling_verdicts(CountingClassifier(), synthetic_stream(1), 0, 1))


class FakeCapture:
    """A live camera that delivers `frames_per_session` frames, then drops; `opens` counts reconnections."""

    opens = 0
    fail_after_opens = 99

    def __init__(self, source):
        FakeCapture.opens += 1
        self.left = 5 if FakeCapture.opens <= FakeCapture.fail_after_opens else 0
        self.ok = FakeCapture.opens <= FakeCapture.fail_after_opens

    def isOpened(self):
        return self.ok

    def get(self, prop):
        return 30.0

    def read(self):
        if self.left <= 0:
            return False, None
        self.left -= 1
        return True, np.zeros((4, 4, 3), np.uint8)

    def release(self):
        pass


def test_a_dropped_live_stream_is_reopened_with_backoff_then_ends(monkeypatch):
    import cv2

    FakeCapture.opens, FakeCapture.fail_after_opens = 0, 3
    monkeypatch.setattr(cv2, "VideoCapture", FakeCapture)
    waits = []
    monkeypatch.setattr(stream.time, "sleep", waits.append)
    notes = []
    frames = list(frames_of("rtsp://camera", realtime=True, reconnect=4, backoff_s=0.5, log=notes.append))
    assert len(frames) == 15  # three sessions of five frames; every later open fails
    # Sessions too short to count as stable share the four tries; the pause doubles each time.
    assert waits == [0.5, 1.0, 2.0, 4.0]
    assert len(notes) == 4 and notes[-1].endswith("(attempt 4 of 4)")


def test_a_source_that_keeps_coming_back_and_dropping_is_given_up_on(monkeypatch):
    import cv2

    FakeCapture.opens, FakeCapture.fail_after_opens = 0, 10 ** 6  # it always reopens, then drops at once
    monkeypatch.setattr(cv2, "VideoCapture", FakeCapture)
    monkeypatch.setattr(stream.time, "sleep", lambda s: None)
    notes = []
    frames = list(frames_of("rtsp://flaky", realtime=True, reconnect=2, log=notes.append))
    assert len(frames) == 15 and len(notes) == 2 and notes[-1].endswith("(attempt 2 of 2)")


def test_a_source_that_delivers_steadily_again_earns_its_tries_anew(monkeypatch):
    import cv2

    clock = iter(range(0, 10 ** 6, 10))  # ten seconds pass between reads
    FakeCapture.opens, FakeCapture.fail_after_opens = 0, 3
    monkeypatch.setattr(cv2, "VideoCapture", FakeCapture)
    monkeypatch.setattr(stream.time, "monotonic", lambda: float(next(clock)))
    waits = []
    monkeypatch.setattr(stream.time, "sleep", waits.append)
    frames = list(frames_of("rtsp://camera", realtime=True, reconnect=1, backoff_s=0.5))
    assert len(frames) == 15 and waits == [0.5, 0.5, 0.5]


def test_an_unopenable_source_names_itself(monkeypatch):
    import cv2

    FakeCapture.opens, FakeCapture.fail_after_opens = 0, 0
    monkeypatch.setattr(cv2, "VideoCapture", FakeCapture)
    with pytest.raises(StreamError, match="'rtsp://nowhere'"):
        next(frames_of("rtsp://nowhere", realtime=True))
