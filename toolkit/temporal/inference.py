"""Classifying videos with a trained run: one verdict per video, a timeline, or a verdict on frames in memory.

`VideoClassifier` wraps one of a run's video models (vote, LSTM or
transformer; any encoder). It splits the model into its encoder and its head
(`split_video_model`) so that each frame is encoded once, while the rest of
the video is still being decoded, and the head runs on any window of
features: the probabilities are those of the saved model on the same frames
(tested), without decoding a video twice or holding its frames.
"""

from __future__ import annotations

import dataclasses
import os
import queue
import threading
from typing import Sequence

import keras
import numpy as np

from toolkit.models.inference import GraphPredictor
from toolkit.temporal.heads import build_vote_head
from toolkit.temporal.run_files import load_video_model, read_run_info
from toolkit.temporal.video_model import build_video_model, split_video_model
from workout_runtime.errors import RunError
from workout_runtime.repetitions import Repetition, RepetitionCount, count_repetitions
from workout_runtime.verdicts import (ACCEPT_ALL, UNKNOWN, RejectionRule, Segment, VideoPrediction,
                                      image_rule_from_info, make_verdict, merge_windows, rule_from_info)
from workout_runtime.video import Clip, fit_frames, header_duration_s, read_frames, uniform_indices

# Frames a second decoded for counting: a quick repetition (about a second) still spans 4 frames, and
# counts on real push-up sets are as good as at 8 (MAE 0.037 against 0.039; BENCHMARKS.md).
COUNTING_FPS = 4.0

__all__ = ["Segment", "VideoClassifier", "VideoPrediction", "merge_windows"]


class VideoClassifier:
    """A video model with its class names, input geometry and rejection rule.

    Build with `VideoClassifier.from_run(run_dir, temporal)`.

    Args:
        model: a video model (`build_video_model`).
        class_names: the output order.
        num_frames: frames per clip.
        frame_size: square side of the frames, or None for frames of any size...
        max_side: ...read at most this long.
        rule: when a verdict is "unknown".
        description: what the model is, for people.
        aggregator: "vote", "lstm" or "transformer".
    """

    def __init__(self, model: keras.Model, class_names: Sequence[str], num_frames: int, frame_size: int | None,
                 max_side: int | None = None, rule: RejectionRule = ACCEPT_ALL, description: str = "",
                 aggregator: str = "vote"):
        self.model = model
        self.encoder, self.head = split_video_model(model)
        self._encode = GraphPredictor(self.encoder)
        self._head = GraphPredictor(self.head)
        self.class_names = list(class_names)
        self.num_frames, self.frame_size, self.max_side = int(num_frames), frame_size, max_side
        self.rule, self.description, self.aggregator = rule, description, aggregator
        # Single images are judged by the frame head with its own calibration (see `classify_images`).
        self.image_rule = dataclasses.replace(rule, threshold=None, min_evidence=1.0) \
            if rule.min_evidence > 0 else rule
        # Pose runs: the signal each exercise's repetitions are counted on (run.json "repetitions").
        self.repetition_signals: dict = {}

    @classmethod
    def from_run(cls, run_dir: str | os.PathLike, temporal: str | None = None, vote_method: str | None = None,
                 reject: bool = True) -> "VideoClassifier":
        """Loads one aggregator of a run written by the training recipes.

        Args:
            run_dir: a run folder.
            temporal: "vote", "lstm" or "transformer"; None takes the run's default.
            vote_method: with "vote", pool by this method instead of the run's.
            reject: answer "unknown" when the evidence is weak (the run's
                calibrated rule); False always names the top class.

        Raises:
            RunError: not a run, no such aggregator, or a damaged file.
        """
        info = read_run_info(run_dir)
        aggregator = temporal or info.default_aggregator
        model = load_video_model(run_dir, aggregator, info)
        settings = info.aggregators[aggregator]
        description = f"{aggregator} over {info.model_name} features"
        if aggregator == "vote":
            method = vote_method or settings.get("method", "mean")
            if method != settings.get("method"):
                encoder, head = split_video_model(model)
                frame_head = head.get_layer("frame_probabilities").layer
                model = build_video_model(encoder, build_vote_head(frame_head, info.num_frames, method),
                                          info.num_frames, info.frame_size)
            description = f"{method} vote over frames of {info.model_name}"
        classifier = cls(model, info.class_names, info.num_frames, info.frame_size, info.max_side,
                         rule_from_info(settings, reject), description, aggregator)
        classifier.image_rule = image_rule_from_info(settings, reject)
        classifier.repetition_signals = info.repetitions
        return classifier

    # --- frames to features ---

    def _geometry(self) -> dict:
        """How `read_frames` sizes frames for this model: a square, or the long side bounded."""
        return {"size": self.frame_size} if self.frame_size else {"max_side": self.max_side}

    def prepare_frames(self, frames: np.ndarray) -> np.ndarray:
        """Frames decoded elsewhere (a stream, an upload) into this model's geometry."""
        return fit_frames(frames, **self._geometry())

    def encode(self, frames: np.ndarray, batch_size: int = 16) -> np.ndarray:
        """`(N, H, W, 3)` frames in this model's geometry -> `(N, F)` encoder features."""
        if not len(frames):
            return np.zeros((0, self.encoder.output_shape[-1]), dtype=np.float32)
        return np.concatenate([self._encode(frames[i:i + batch_size]) for i in range(0, len(frames), batch_size)])

    def _encode_video(self, path, num_frames: int | None = None, every_seconds: float | None = None,
                      chunk: int = 4) -> tuple[np.ndarray, Clip]:
        """Decodes and encodes in parallel: each sampled frame goes to a worker thread that encodes every
        `chunk` frames while decoding goes on (OpenCV and TensorFlow release the GIL). No frame is kept."""
        frames: queue.Queue = queue.Queue(maxsize=4 * chunk)
        outputs: list[np.ndarray] = []
        failure: list[BaseException] = []
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
                        outputs.append(self._encode(np.stack(batch)))
                        batch = []
                except BaseException as error:  # surfaced in the caller's thread
                    failure.append(error)
                if item is done:
                    return

        thread = threading.Thread(target=worker, daemon=True)
        thread.start()
        try:
            clip = read_frames(path, num_frames, every_seconds=every_seconds, keep=False,
                               on_frame=lambda frame, index, time_s: frames.put(frame), **self._geometry())
        finally:
            frames.put(done)
            thread.join()
        if failure:
            raise failure[0]
        features = np.concatenate(outputs) if outputs else self.encode(np.zeros((0,)))
        return features, clip

    # --- features to verdicts ---

    def _window_probabilities(self, features: np.ndarray, starts: Sequence[int]) -> np.ndarray:
        """`(W, K)` probabilities of the windows of `num_frames` features beginning at `starts`."""
        windows = np.zeros((len(starts), self.num_frames, features.shape[-1]), dtype=np.float32)
        for i, s in enumerate(starts):
            part = features[s:s + self.num_frames]
            windows[i, :len(part)] = part
        return np.concatenate([self._head(windows[i:i + 32]) for i in range(0, len(windows), 32)])

    def verdict(self, features: np.ndarray, path: str = "", start_s: float = 0.0,
                end_s: float = 0.0) -> VideoPrediction:
        """The verdict on up to `num_frames` frames' features `(n, F)`."""
        features = np.asarray(features)[:self.num_frames]
        probabilities = self._window_probabilities(features, [0])[0]
        evidence = int(np.any(features != 0, axis=-1).sum())
        return make_verdict(path, probabilities, self.class_names, len(features), evidence, self.rule,
                            start_s, end_s)

    def classify(self, path: str | os.PathLike) -> VideoPrediction:
        """Samples `num_frames` frames uniformly over the video and classifies them.

        Raises:
            VideoReadError: the file cannot be read.
        """
        features, clip = self._encode_video(path, self.num_frames)
        return self.verdict(features, str(path), 0.0, clip.info.duration_s)

    def classify_frames(self, frames: np.ndarray, path: str = "<frames>", start_s: float = 0.0,
                        end_s: float = 0.0) -> VideoPrediction:
        """Classifies frames already in memory (a stream window, an uploaded image): resized to this
        model's geometry, at most `num_frames` of them (sampled uniformly)."""
        frames = np.asarray(frames)
        frames = frames[uniform_indices(len(frames), self.num_frames)]
        return self.verdict(self.encode(self.prepare_frames(frames)), path, start_s, end_s)

    def classify_images(self, images: Sequence[np.ndarray], paths: Sequence[str]) -> list[VideoPrediction]:
        """Verdicts on single images by the frame head (vote models only), each image in this model's geometry.

        An image counts as evidence when the encoder finds something in it (a
        body, for pose encoders); the frame head's own calibrated threshold
        decides "unknown".
        """
        if self.aggregator != "vote":
            raise ValueError(f"Images are classified by a run's frame head: load it with temporal='vote' "
                             f"(received {self.aggregator!r}).")
        frame_head = self.head.get_layer("frame_probabilities").layer
        frame_predict = GraphPredictor(frame_head)
        verdicts = []
        for image, path in zip(images, paths):
            features = self.encode(self.prepare_frames(np.asarray(image)[None]))
            probabilities = frame_predict(features)[0]
            evidence = int(np.any(features != 0))
            verdicts.append(make_verdict(path, probabilities, self.class_names, 1, evidence, self.image_rule))
        return verdicts

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
            RunError: the run's encoder does not see joints (not a pose run).
        """
        if not self.repetition_signals:
            raise RunError("Counting repetitions needs a pose run (model_name movenet_lightning or movenet_thunder, "
                           "alone or joined to a pixel encoder): its features follow the body's joints.")
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

    @staticmethod
    def counting_label(verdicts: Sequence[VideoPrediction]) -> tuple[str | None, str | None]:
        """(the exercise to count as, why it is unconfirmed) for a stretch with these verdicts.

        A confirmed exercise counts as itself; an "unknown" stretch in which a
        body was seen counts as its most frequent top exercise, marked
        unconfirmed; a stretch where no body was seen is not counted (None).
        """
        named = [v.label for v in verdicts if not v.unknown]
        if named:
            return max(set(named), key=named.count), None
        seen = [v for v in verdicts if v.frames_with_evidence > 0]
        if not seen:
            return None, None
        tops = [v.top_label for v in seen]
        top = max(set(tops), key=tops.count)
        return top, next(v.unknown_reason for v in seen if v.top_label == top)

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

    def classify_with_repetitions(self, path: str | os.PathLike,
                                  fps: float = COUNTING_FPS) -> tuple[VideoPrediction, RepetitionCount]:
        """The verdict, the repetitions and each repetition's own verdict for a whole video.

        Frames are decoded `fps` times a second (more often in a clip shorter
        than `num_frames / fps` seconds, so that the verdict still reads
        `num_frames`) and each is encoded once; the verdict reads
        `num_frames` of them spread uniformly, as `classify` does, and the
        counter reads all of them.
        """
        duration = header_duration_s(path)
        period = min(1.0 / fps, duration / self.num_frames) if duration > 0 else 1.0 / fps
        features, clip = self._encode_video(path, every_seconds=period)
        verdict = self.verdict(features[uniform_indices(len(features), self.num_frames)], str(path), 0.0,
                               clip.info.duration_s)
        label, unconfirmed = self.counting_label([verdict])
        return verdict, self.count(features, clip.timestamps_s, label, unconfirmed=unconfirmed)

    def timeline(self, path: str | os.PathLike, window_s: float = 4.0, stride_s: float = 1.0,
                 repetitions: bool = False) -> tuple[list[VideoPrediction], list[Segment], list[RepetitionCount]]:
        """Labels sliding windows across a video and merges them into segments.

        The video is decoded once at `num_frames / window_s` frames per second
        and each frame is encoded once; each window is the head on
        `num_frames` consecutive frames' features. A window is credited to
        the middle `stride_s` of its span, so segment borders fall where the
        verdict changes. With `repetitions`, frames are decoded at least
        `COUNTING_FPS` times a second (windows read every k-th of them) and
        each segment's repetitions are counted on its own exercise.

        Returns:
            The windows, the segments, and one `RepetitionCount` per segment
            (an empty list without `repetitions`).
        """
        if not (window_s > 0 and stride_s > 0):
            raise ValueError(f"Received: window_s={window_s!r}, stride_s={stride_s!r}; expected positive numbers")
        period = window_s / self.num_frames
        every = max(1, int(np.ceil(COUNTING_FPS * period))) if repetitions else 1
        fine, clip = self._encode_video(path, every_seconds=period / every)
        features, times = fine[::every], clip.timestamps_s[:len(fine)][::every]
        step = max(1, int(round(stride_s / period)))
        starts = list(range(0, max(1, len(features) - self.num_frames + 1), step))
        probabilities = self._window_probabilities(features, starts)
        windows = []
        for s, p in zip(starts, probabilities):
            part = features[s:s + self.num_frames]
            n = len(part)
            windows.append(make_verdict(path, p, self.class_names, n, int(np.any(part != 0, axis=-1).sum()),
                                        self.rule, float(times[s]) if n else 0.0,
                                        float(times[s + n - 1]) + period if n else 0.0))
        segments = merge_windows(windows, clip.info.duration_s)
        counts = []
        if repetitions:
            fine_times = np.asarray(clip.timestamps_s[:len(fine)])
            for segment in segments:
                inside = (fine_times >= segment.start_s) & (fine_times < segment.end_s)
                covering = [w for w in windows if segment.start_s <= (w.start_s + w.end_s) / 2 <= segment.end_s]
                label, unconfirmed = self.counting_label(covering) if segment.label == UNKNOWN \
                    else (segment.label, None)
                counts.append(self.count(fine[inside], fine_times[inside], label, unconfirmed=unconfirmed))
        return windows, segments, counts
