"""The one path from a video, a stream window, an upload or an image to a result, for every backend.

    pipeline = VideoClassifier.from_run("runs/pose")                 # Keras (toolkit; TensorFlow)
    pipeline = ArtifactVideoClassifier("exports/pose_vote.tflite")    # LiteRT, ONNX or SavedModel
    verdict = pipeline.classify("clip.mp4")
    windows, segments, counts = pipeline.timeline("workout.mp4", repetitions=True)
    analysis = pipeline.analyse("upload.mp4")        # all of it from one decode (the web app)

Both are a `VideoPipeline` over a `Backend`. The pipeline owns everything that
does not depend on how the model runs: decoding (once per request, overlapped
with the model), sampling, frame geometry, windows, the verdict with the
rejection rule, the timeline, repetition counting and each repetition's own
verdict. A backend owns only the model: it turns frames into per-frame items
(`encode`) and windows of items into class probabilities and the number of
frames with evidence (`windows`). A Keras run encodes each frame once and runs
its head on any window of features; an exported artifact is one graph from
frames to probabilities, so its items are the frames themselves and each window
runs the whole artifact.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Sequence

import numpy as np

from workout_runtime.errors import RunError
from workout_runtime.frame_geometry import fit_frames
from workout_runtime.repetitions import Repetition, RepetitionCount, count_repetitions, counting_label
from workout_runtime.sampling import read_and_encode
from workout_runtime.verdicts import (ACCEPT_ALL, UNKNOWN, RejectionRule, Segment, VideoPrediction, make_verdict,
                                      merge_windows)
from workout_runtime.video import Clip, header_duration_s, uniform_indices

# Frames a second decoded for counting: a quick repetition (about a second) still spans 4 frames, and
# counts on real push-up sets are as good as at 8 (MAE 0.037 against 0.039; BENCHMARKS.md).
COUNTING_FPS = 4.0


class Backend:
    """What runs the model. Subclasses set the attributes and implement `encode` and `windows`.

    Attributes:
        class_names: the output order.
        num_frames: frames per clip (T).
        frame_size: square side of the frames, or None for frames of any size...
        max_side: ...read at most this long.
        rule: when a video's verdict is "unknown"; image_rule: the same for single images.
        aggregator: "vote", "lstm" or "transformer".
        description: what the model is, for people.
        repetition_signals: for pose runs, the signal each exercise is counted on; empty when the
            backend's items are not pose features (then counting is refused).
    """

    class_names: list[str]
    num_frames: int
    frame_size: int | None = None
    max_side: int | None = None
    rule: RejectionRule = ACCEPT_ALL
    image_rule: RejectionRule = ACCEPT_ALL
    aggregator: str = "vote"
    description: str = ""
    repetition_signals: dict = {}

    def encode(self, frames: np.ndarray) -> np.ndarray:
        """`(N, H, W, 3)` uint8 frames in the model's geometry -> `(N, ...)` per-frame items."""
        raise NotImplementedError

    def windows(self, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`(W, T, ...)` windows of items (missing frames all zero) -> probabilities `(W, K)`, frames with
        evidence `(W,)`."""
        raise NotImplementedError

    def images(self, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`(N, ...)` items of single images -> probabilities `(N, K)`, evidence `(N,)` (0 or 1).

        By default each image is a clip of one frame."""
        outputs = [self.windows(np.concatenate([item[None, None], np.zeros((1, self.num_frames - 1, *item.shape),
                                                                            item.dtype)], axis=1))
                   for item in items]
        return (np.concatenate([p for p, _ in outputs]) if outputs else np.zeros((0, len(self.class_names))),
                np.concatenate([e for _, e in outputs]) if outputs else np.zeros((0,)))

    def keypoints(self, frames: np.ndarray) -> np.ndarray | None:
        """`(N, 17, 3)` joints (y, x, score) found on frames, for drawing skeletons; None when the backend has
        no pose model to show."""
        return None


@dataclasses.dataclass
class Analysis:
    """Everything known about one video from one decode (`VideoPipeline.analyse`).

    Attributes:
        verdict: the verdict on `num_frames` frames spread over the video.
        windows, segments: the timeline.
        repetitions: the whole video's count (pose runs), else None.
        segment_counts: one count per segment (pose runs), else empty.
        frames: a few decoded frames in the model's geometry, and `keypoints` on them (pose runs) or None.
    """

    verdict: VideoPrediction
    windows: list[VideoPrediction]
    segments: list[Segment]
    repetitions: RepetitionCount | None
    segment_counts: list[RepetitionCount]
    frames: np.ndarray
    keypoints: np.ndarray | None


class VideoPipeline:
    """Turns videos, frames and images into verdicts, timelines and repetition counts with one backend.

    The backend's attributes (`class_names`, `num_frames`, `rule`, `description`, ...) read through the
    pipeline (`pipeline.class_names`).
    """

    def __init__(self, backend: Backend):
        self.backend = backend

    def __getattr__(self, name: str):
        if name == "backend":  # not set yet (copying, unpickling)
            raise AttributeError(name)
        return getattr(self.backend, name)

    # --- frames to items ---

    def geometry(self) -> dict:
        """How `read_frames` sizes frames for this model: a square, or the long side bounded."""
        return {"size": self.frame_size} if self.frame_size else {"max_side": self.max_side}

    def prepare_frames(self, frames: np.ndarray) -> np.ndarray:
        """Frames decoded elsewhere (a stream, an upload) into this model's geometry."""
        return fit_frames(frames, **self.geometry())

    def encode_video(self, path, num_frames: int | None = None, every_seconds: float | None = None,
                     keep: Sequence[int] = ()) -> tuple[np.ndarray, Clip, np.ndarray]:
        """Decodes frames in this model's geometry and encodes them while decoding goes on (`read_and_encode`).

        Returns:
            `(N, ...)` items, the clip (timestamps; no frames) and the `keep`-th sampled frames.
        """
        return read_and_encode(path, self.backend.encode, num_frames, every_seconds, keep, **self.geometry())

    # --- items to verdicts ---

    def window_outputs(self, items: np.ndarray, starts: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities `(W, K)` and evidence `(W,)` of the windows of `num_frames` items beginning at `starts`."""
        windows = np.zeros((len(starts), self.num_frames, *items.shape[1:]), dtype=items.dtype)
        for i, s in enumerate(starts):
            part = items[s:s + self.num_frames]
            windows[i, :len(part)] = part
        return self.backend.windows(windows)

    def verdict(self, items: np.ndarray, path: str = "", start_s: float = 0.0, end_s: float = 0.0) -> VideoPrediction:
        """The verdict on up to `num_frames` frames' items."""
        items = np.asarray(items)[:self.num_frames]
        probabilities, evidence = self.window_outputs(items, [0])
        return make_verdict(path, probabilities[0], self.class_names, len(items), int(evidence[0]), self.rule,
                            start_s, end_s)

    def classify(self, path: str | os.PathLike) -> VideoPrediction:
        """Samples `num_frames` frames uniformly over the video and classifies them.

        Raises:
            VideoReadError: the file cannot be read.
        """
        items, clip, _ = self.encode_video(path, self.num_frames)
        return self.verdict(items, str(path), 0.0, clip.info.duration_s)

    def classify_frames(self, frames: np.ndarray, path: str = "<frames>", start_s: float = 0.0,
                        end_s: float = 0.0) -> VideoPrediction:
        """Classifies frames already in memory (a stream window, an upload): resized to this model's
        geometry, at most `num_frames` of them (sampled uniformly)."""
        frames = np.asarray(frames)
        frames = frames[uniform_indices(len(frames), self.num_frames)]
        return self.verdict(self.backend.encode(self.prepare_frames(frames)), path, start_s, end_s)

    def classify_images(self, images: Sequence[np.ndarray], paths: Sequence[str]) -> list[VideoPrediction]:
        """Verdicts on single images, each in this model's geometry, by the image rule.

        A Keras run judges an image with its frame head (vote runs) and the
        head's own calibrated threshold; an artifact as a clip of one frame.
        An image counts as evidence when the encoder finds something in it (a
        body, for pose encoders).
        """
        verdicts = []
        for image, path in zip(images, paths):
            probabilities, evidence = self.backend.images(self.backend.encode(self.prepare_frames(np.asarray(image)[None])))
            verdicts.append(make_verdict(path, probabilities[0], self.class_names, 1, int(evidence[0]),
                                         self.image_rule))
        return verdicts

    def classify_image(self, image: np.ndarray, path: str) -> VideoPrediction:
        """One image: by the frame head where the model has one to itself (vote), else as a clip of one frame."""
        if self.aggregator == "vote":
            return self.classify_images([image], [path])[0]
        return self.classify_frames(np.asarray(image)[None], path)

    # --- timelines ---

    def _timeline_windows(self, items: np.ndarray, times_s: np.ndarray, period: float, stride_s: float,
                          path) -> list[VideoPrediction]:
        """Windows of `num_frames` items read every `period` seconds, one every `stride_s`."""
        step = max(1, int(round(stride_s / period)))
        starts = list(range(0, max(1, len(items) - self.num_frames + 1), step))
        probabilities, evidence = self.window_outputs(items, starts)
        windows = []
        for s, p, e in zip(starts, probabilities, evidence):
            n = len(items[s:s + self.num_frames])
            windows.append(make_verdict(path, p, self.class_names, n, int(e), self.rule,
                                        float(times_s[s]) if n else 0.0,
                                        float(times_s[s + n - 1]) + period if n else 0.0))
        return windows

    def _segment_counts(self, items, times_s, windows, segments) -> list[RepetitionCount]:
        """Each segment's repetitions, counted on its own exercise (an "unknown" one: unconfirmed)."""
        counts = []
        for segment in segments:
            inside = (times_s >= segment.start_s) & (times_s < segment.end_s)
            covering = [w for w in windows if segment.start_s <= (w.start_s + w.end_s) / 2 <= segment.end_s]
            label, unconfirmed = counting_label(covering) if segment.label == UNKNOWN \
                else (segment.label, None)
            counts.append(self.count(items[inside], times_s[inside], label, unconfirmed=unconfirmed))
        return counts

    def timeline(self, path: str | os.PathLike, window_s: float = 4.0, stride_s: float = 1.0,
                 repetitions: bool = False) -> tuple[list[VideoPrediction], list[Segment], list[RepetitionCount]]:
        """Labels sliding windows across a video and merges them into segments.

        The video is decoded once at `num_frames / window_s` frames per second
        and each frame is encoded once; each window is `num_frames`
        consecutive frames. A window is credited to the middle `stride_s` of
        its span, so segment borders fall where the verdict changes. With
        `repetitions` (pose runs), frames are decoded at least `COUNTING_FPS`
        times a second (windows read every k-th of them) and each segment's
        repetitions are counted on its own exercise.

        Returns:
            The windows, the segments, and one `RepetitionCount` per segment
            (an empty list without `repetitions`).
        """
        self._check_timeline(window_s, stride_s, repetitions)
        period = window_s / self.num_frames
        every = max(1, int(np.ceil(COUNTING_FPS * period))) if repetitions else 1
        fine, clip, _ = self.encode_video(path, every_seconds=period / every)
        return self._timeline(fine, np.asarray(clip.timestamps_s[:len(fine)]), every, period, stride_s, path,
                              clip.info.duration_s, repetitions)

    def _check_timeline(self, window_s: float, stride_s: float, repetitions: bool) -> None:
        """Before any decoding: the window and stride are usable, and counting is possible if asked for."""
        if not (window_s > 0 and stride_s > 0):
            raise ValueError(f"Received: window_s={window_s!r}, stride_s={stride_s!r}; expected positive numbers")
        if repetitions:
            self._check_counting()

    def _timeline(self, items: np.ndarray, times_s: np.ndarray, every: int, period: float, stride_s: float, path,
                  duration_s: float, repetitions: bool):
        """Windows over every `every`-th item (read each `period` seconds), their segments, and with `repetitions`
        each segment's count over all the items."""
        windows = self._timeline_windows(items[::every], times_s[::every], period, stride_s, path)
        segments = merge_windows(windows, duration_s)
        counts = self._segment_counts(items, times_s, windows, segments) if repetitions else []
        return windows, segments, counts

    # --- repetitions ---

    def _check_counting(self) -> None:
        if not self.repetition_signals:
            raise RunError("Counting repetitions needs a pose run (model_name movenet_lightning or movenet_thunder, "
                           "alone or joined to a pixel encoder): its features follow the body's joints. An exported "
                           "model outputs probabilities, not joints: count with the run (--run RUN --reps).")

    def count(self, features: np.ndarray, times_s: np.ndarray, label: str | None,
              judge: bool = True, unconfirmed: str | None = None) -> RepetitionCount:
        """Repetitions in a stretch of encoded frames `(n, F)` taken at `times_s`.

        Args:
            label: the stretch's exercise: its usual range of motion is the
                yardstick for "too small to be a repetition". None (no body
                was seen) counts nothing.
            judge: also give each repetition the run's verdict on its own
                frames (`Repetition.label`, `.confidence`): with a form model,
                which repetitions were done wrong.
            unconfirmed: the verdict was "unknown" for this reason, and
                `label` is only the top exercise: the count is still made
                (a periodic motion is counted, a still or aimless one is not)
                and marked as unconfirmed, never silently dropped.

        Raises:
            RunError: the backend's items are not pose features (not a pose run).
        """
        self._check_counting()
        times_s = np.asarray(times_s, dtype=np.float64)[:len(features)]
        fps = 1.0 / float(np.median(np.diff(times_s))) if len(times_s) > 1 else 1.0
        if label is None:
            return RepetitionCount(0, [], None, np.zeros(0), times_s, "not counted: no body was seen")
        result = count_repetitions(features, fps, label, self.repetition_signals)
        result.times_s, result.unconfirmed, result.exercise = times_s, unconfirmed, label
        # count_repetitions measures time from the first frame; the stretch may start later.
        offset = float(times_s[0]) if len(times_s) else 0.0
        result.repetitions = [dataclasses.replace(r, start_s=round(r.start_s + offset, 3),
                                                  turn_s=round(r.turn_s + offset, 3),
                                                  end_s=round(r.end_s + offset, 3)) for r in result.repetitions]
        if judge:
            result.repetitions = [self._judge(features, times_s, r) for r in result.repetitions]
        return result

    def _judge(self, features: np.ndarray, times_s: np.ndarray, repetition: Repetition) -> Repetition:
        """The verdict on one repetition's frames, stretched or thinned to `num_frames` spread over it.

        The heads learnt from `num_frames` frames spread over a training clip, which mostly holds one or two
        repetitions; a repetition read at 4 frames a second has 3-15. Repeating its frames in order to
        `num_frames` gives the sequence heads the pace they know (pushup_form, per-repetition LSTM 0.555 ->
        0.592 over 10 folds; voting is unchanged, as a mean should be).
        """
        inside = np.flatnonzero((times_s >= repetition.start_s - 1e-6) & (times_s <= repetition.end_s + 1e-6))
        if len(inside):
            inside = inside[((np.arange(self.num_frames) + 0.5) * len(inside) / self.num_frames).astype(int)]
        verdict = self.verdict(features[inside], start_s=repetition.start_s, end_s=repetition.end_s)
        return dataclasses.replace(repetition, label=verdict.label, confidence=round(float(verdict.confidence), 4))

    def _sampled_verdict(self, items: np.ndarray, path, duration_s: float) -> VideoPrediction:
        """The verdict on `num_frames` of a whole video's items, spread uniformly."""
        return self.verdict(items[uniform_indices(len(items), self.num_frames)], str(path), 0.0, duration_s)

    def _whole_video_count(self, items: np.ndarray, times_s: np.ndarray, verdict: VideoPrediction) -> RepetitionCount:
        """The whole video's repetitions, counted as the exercise its verdict names (or its top one, unconfirmed)."""
        label, unconfirmed = counting_label([verdict])
        return self.count(items, times_s, label, unconfirmed=unconfirmed)

    def classify_with_repetitions(self, path: str | os.PathLike,
                                  fps: float = COUNTING_FPS) -> tuple[VideoPrediction, RepetitionCount]:
        """The verdict, the repetitions and each repetition's own verdict for a whole video (pose runs).

        Frames are decoded `fps` times a second (more often in a clip shorter
        than `num_frames / fps` seconds, so that the verdict still reads
        `num_frames`) and each is encoded once; the verdict reads
        `num_frames` of them spread uniformly, as `classify` does, and the
        counter reads all of them.
        """
        self._check_counting()
        duration = header_duration_s(path)
        period = min(1.0 / fps, duration / self.num_frames) if duration > 0 else 1.0 / fps
        items, clip, _ = self.encode_video(path, every_seconds=period)
        verdict = self._sampled_verdict(items, path, clip.info.duration_s)
        return verdict, self._whole_video_count(items, clip.timestamps_s, verdict)

    # --- everything at once ---

    def analyse(self, path: str | os.PathLike, window_s: float = 4.0, stride_s: float = 1.0,
                repetitions: bool | None = None, frames_kept: int = 6) -> Analysis:
        """The verdict, the timeline, the repetitions (pose runs) and a few frames, from one decode.

        Frames are read at the timeline's rate (`num_frames / window_s` a
        second), or a whole multiple of it where the verdict (`num_frames`
        over a short video) or counting (`COUNTING_FPS`) needs more; each
        consumer reads its share of the same items.
        """
        repetitions = bool(self.repetition_signals) if repetitions is None else repetitions
        self._check_timeline(window_s, stride_s, repetitions)
        period, duration = window_s / self.num_frames, header_duration_s(path)
        finest = min(period, duration / self.num_frames if duration > 0 else period,
                     1.0 / COUNTING_FPS if repetitions else period)
        every = max(1, math.ceil(period / finest - 1e-9))
        expected = int(duration / (period / every)) + 1 if duration > 0 else frames_kept
        items, clip, frames = self.encode_video(path, every_seconds=period / every,
                                                keep=uniform_indices(expected, frames_kept))
        times = np.asarray(clip.timestamps_s[:len(items)])
        windows, segments, segment_counts = self._timeline(items, times, every, period, stride_s, path,
                                                           clip.info.duration_s, repetitions)
        verdict = self._sampled_verdict(items, path, clip.info.duration_s)
        count = self._whole_video_count(items, times, verdict) if repetitions else None
        return Analysis(verdict, windows, segments, count, segment_counts, frames,
                        self.backend.keypoints(frames) if len(frames) else None)


__all__ = ["Analysis", "Backend", "COUNTING_FPS", "Segment", "VideoPipeline", "VideoPrediction", "merge_windows"]
