"""A trained run as a backend of the inference pipeline (`workout_runtime.pipeline`): Keras, one encode per frame.

    classifier = VideoClassifier.from_run("runs/pose", "lstm")
    verdict = classifier.classify("clip.mp4")

`KerasBackend` splits one of a run's video models (vote, LSTM or transformer;
any encoder) into its encoder and its head (`split_video_model`), so that the
pipeline encodes each frame once, while the rest of the video is still being
decoded, and runs the head on any window of features: the probabilities are
those of the saved model on the same frames (tested). Everything else (decoding,
sampling, verdicts, timelines, repetitions) is the pipeline's, the same for
exported artifacts.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Sequence

import keras
import numpy as np

from toolkit.models.inference import GraphPredictor
from toolkit.temporal.heads import build_vote_head
from toolkit.temporal.run_files import load_video_model, read_run_info
from toolkit.temporal.video_model import build_video_model, split_video_model
from workout_runtime.pipeline import COUNTING_FPS, Backend, Segment, VideoPipeline, VideoPrediction, merge_windows
from workout_runtime.verdicts import ACCEPT_ALL, RejectionRule, image_rule_from_info, rule_from_info

__all__ = ["COUNTING_FPS", "KerasBackend", "Segment", "VideoClassifier", "VideoPrediction", "merge_windows"]


class KerasBackend(Backend):
    """A video model with its class names, input geometry and rejection rule.

    Build with `KerasBackend.from_run(run_dir, temporal)`.

    Args:
        model: a video model (`build_video_model`).
        class_names: the output order.
        num_frames: frames per clip.
        frame_size: square side of the frames, or None for frames of any size...
        max_side: ...read at most this long.
        rule: when a verdict is "unknown".
        description: what the model is, for people.
        aggregator: "vote", "lstm" or "transformer".
        repetition_signals: pose runs: the signal each exercise's repetitions are counted on (run.json
            "repetitions").
    """

    def __init__(self, model: keras.Model, class_names: Sequence[str], num_frames: int, frame_size: int | None,
                 max_side: int | None = None, rule: RejectionRule = ACCEPT_ALL, description: str = "",
                 aggregator: str = "vote", repetition_signals: dict | None = None):
        self.model = model
        self.encoder, self.head = split_video_model(model)
        self._encode = GraphPredictor(self.encoder)
        self._head = GraphPredictor(self.head)
        self._frame_head = self._keypoints = None
        self.class_names = list(class_names)
        self.num_frames, self.frame_size, self.max_side = int(num_frames), frame_size, max_side
        self.rule, self.description, self.aggregator = rule, description, aggregator
        # Single images are judged by the frame head with its own calibration (`from_run` sets it).
        self.image_rule = dataclasses.replace(rule, threshold=None, min_evidence=1.0) \
            if rule.min_evidence > 0 else rule
        self.repetition_signals = dict(repetition_signals or {})

    @classmethod
    def from_run(cls, run_dir: str | os.PathLike, temporal: str | None = None, vote_method: str | None = None,
                 reject: bool = True) -> "KerasBackend":
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
        backend = cls(model, info.class_names, info.num_frames, info.frame_size, info.max_side,
                      rule_from_info(settings, reject), description, aggregator, info.repetitions)
        backend.image_rule = image_rule_from_info(settings, reject)
        return backend

    def encode(self, frames: np.ndarray, batch_size: int = 16) -> np.ndarray:
        """`(N, H, W, 3)` frames in this model's geometry -> `(N, F)` encoder features."""
        if not len(frames):
            return np.zeros((0, self.encoder.output_shape[-1]), dtype=np.float32)
        return np.concatenate([self._encode(frames[i:i + batch_size]) for i in range(0, len(frames), batch_size)])

    def windows(self, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The head on `(W, T, F)` windows of features; a frame is evidence when its features are not all zero
        (pose encoders zero a frame without a body)."""
        probabilities = np.concatenate([self._head(items[i:i + 32]) for i in range(0, len(items), 32)])
        return probabilities, np.any(items != 0, axis=-1).sum(axis=1)

    def images(self, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The frame head on `(N, F)` features of single images (vote models only)."""
        if self.aggregator != "vote":
            raise ValueError(f"Images are classified by a run's frame head: load it with temporal='vote' "
                             f"(received {self.aggregator!r}).")
        if self._frame_head is None:
            self._frame_head = GraphPredictor(self.head.get_layer("frame_probabilities").layer)
        return self._frame_head(items), np.any(items != 0, axis=-1).astype(np.int64)

    def keypoints(self, frames: np.ndarray) -> np.ndarray | None:
        """MoveNet's joints on frames, for pose runs; None for pixel encoders."""
        if not self.repetition_signals:
            return None
        from toolkit.models.pose import keypoint_model

        if self._keypoints is None:
            self._keypoints = keypoint_model(self.encoder)
        return keras.ops.convert_to_numpy(self._keypoints(frames))


class VideoClassifier(VideoPipeline):
    """The inference pipeline over a run's Keras model (`KerasBackend`)."""

    @classmethod
    def from_run(cls, run_dir: str | os.PathLike, temporal: str | None = None, vote_method: str | None = None,
                 reject: bool = True) -> "VideoClassifier":
        """The pipeline over `KerasBackend.from_run(...)` (same arguments)."""
        return cls(KerasBackend.from_run(run_dir, temporal, vote_method, reject))
