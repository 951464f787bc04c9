"""Classifying whole videos with a trained run: one label per video, or a timeline."""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import threading
from pathlib import Path
from typing import Sequence

import keras
import numpy as np

from toolkit.data.video import read_frames
from toolkit.models.inference import GraphPredictor
from toolkit.models.registry import is_pose_model
from toolkit.temporal.layers import VotePooling
from toolkit.temporal.vote import build_vote_classifier

VIDEO_MODEL_FILE = "video_model.keras"


@dataclasses.dataclass(frozen=True)
class VideoPrediction:
    """The verdict on one video (or one window of it)."""

    path: str
    label: str
    confidence: float
    probabilities: dict[str, float]
    frames_used: int
    start_s: float = 0.0
    end_s: float = 0.0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Segment:
    """A stretch of a video with one predicted exercise."""

    label: str
    start_s: float
    end_s: float
    confidence: float


class VideoClassifier:
    """A video model (vote pooling or LSTM) with its class names and input geometry.

    Build with `VideoClassifier.from_run(run_dir, temporal)`.
    """

    def __init__(self, model: keras.Model, class_names: Sequence[str], num_frames: int, image_size: int,
                 description: str, frame_model: keras.Model | None = None, vote_method: str | None = None):
        self.model = model
        self._predict = GraphPredictor(model)
        # With a frame model, classify() runs it on frames while the rest of
        # the video is still being decoded, then pools (vote aggregators only).
        self._frame_predict = GraphPredictor(frame_model) if frame_model is not None else None
        self._pooling = VotePooling(vote_method) if vote_method is not None else None
        self.class_names = list(class_names)
        self.num_frames = num_frames
        self.image_size = image_size
        self.description = description

    @classmethod
    def from_run(cls, run_dir: str | os.PathLike, temporal: str | None = None,
                 vote_method: str | None = None) -> "VideoClassifier":
        """Loads a run written by the training recipes.

        Args:
            run_dir: a run folder.
            temporal: "vote" (pool the run's frame classifier) or "lstm" (the
                run's sequence model, written by train_video_classifier);
                None takes the run's configured aggregator.
            vote_method: override the run's vote method.
        """
        run_dir = Path(run_dir)
        if not (run_dir / "class_names.json").is_file():
            raise FileNotFoundError(f"'{run_dir}' is not a training run (no class_names.json). Use a folder "
                                    f"written by recipes/train_image_classifier.py or train_video_classifier.py.")
        class_names = json.loads((run_dir / "class_names.json").read_text())
        config = json.loads((run_dir / "config.json").read_text())
        temporal = temporal or config.get("temporal", "vote")
        if is_pose_model(config.get("model_name", "")):
            return PoseVideoClassifier.from_run(run_dir, config, class_names, temporal, vote_method)
        num_frames, image_size = int(config["frames_per_video"]), int(config["image_size"])
        if temporal == "lstm":
            path = run_dir / "lstm" / VIDEO_MODEL_FILE
            if not path.is_file():
                raise FileNotFoundError(f"Run '{run_dir}' has no LSTM model ({path}). Train one with "
                                        f"recipes/train_video_classifier.py --temporal lstm, or use --temporal vote.")
            return cls(keras.models.load_model(path), class_names, num_frames, image_size, "LSTM")
        if temporal != "vote":
            raise ValueError(f"Received: temporal={temporal!r}; expected one of ['vote', 'lstm']")
        method = vote_method or config.get("vote_method", "mean")
        frame_model = keras.models.load_model(run_dir / "model.keras")
        model = build_vote_classifier(frame_model, num_frames, image_size, method)
        return cls(model, class_names, num_frames, image_size, f"{method} vote over frames", frame_model, method)

    def _predict_clips(self, clips: np.ndarray) -> np.ndarray:
        # A traced graph, not model.predict: predict builds a tf.data pipeline
        # per call, which dominates the time of a single clip.
        return self._predict(clips)

    def _as_clip(self, frames: np.ndarray) -> np.ndarray:
        clip = np.zeros((self.num_frames, self.image_size, self.image_size, 3), dtype=np.uint8)
        n = min(len(frames), self.num_frames)
        clip[:n] = frames[:n]
        return clip

    def _verdict(self, path, probabilities: np.ndarray, frames_used: int, start=0.0, end=0.0) -> VideoPrediction:
        best = int(np.argmax(probabilities))
        return VideoPrediction(str(path), self.class_names[best], float(probabilities[best]),
                               {c: float(p) for c, p in zip(self.class_names, probabilities)},
                               frames_used, round(start, 3), round(end, 3))

    def classify(self, path: str | os.PathLike) -> VideoPrediction:
        """Samples `num_frames` frames uniformly over the video and classifies them.

        Raises:
            VideoReadError: the file cannot be read.
        """
        if self._frame_predict is not None:
            return self._classify_overlapped(path)
        clip = read_frames(path, self.num_frames, size=self.image_size)
        probabilities = self._predict_clips(self._as_clip(clip.frames)[None])[0]
        return self._verdict(path, probabilities, len(clip.frames), 0.0, clip.info.duration_s)

    def _classify_overlapped(self, path, chunk: int = 4) -> VideoPrediction:
        """Vote pooling with inference overlapping decoding.

        The decoder hands each sampled frame to a worker thread, which runs the
        frame classifier on every `chunk` frames while decoding goes on (both
        OpenCV and TensorFlow release the GIL); the frame probabilities are
        then pooled exactly as the vote model pools them.
        """
        frames: queue.Queue = queue.Queue()
        outputs: list[np.ndarray] = []
        failure: list[BaseException] = []
        done = object()

        def worker() -> None:
            batch: list[np.ndarray] = []
            while True:
                item = frames.get()
                try:
                    if item is None:  # the reader restarted its pass
                        batch.clear()
                        outputs.clear()
                        continue
                    if item is not done:
                        batch.append(item)
                    if batch and (item is done or len(batch) == chunk):
                        outputs.append(self._frame_predict(np.stack(batch)))
                        batch = []
                except BaseException as error:  # surfaced in the caller's thread
                    failure.append(error)
                if item is done:
                    return

        thread = threading.Thread(target=worker, daemon=True)
        thread.start()
        try:
            clip = read_frames(path, self.num_frames, size=self.image_size, on_frame=frames.put)
        finally:
            frames.put(done)
            thread.join()
        if failure:
            raise failure[0]
        frame_probabilities = np.concatenate(outputs)[None]
        pooled = keras.ops.convert_to_numpy(self._pooling(frame_probabilities))[0]
        return self._verdict(path, pooled, len(clip.frames), 0.0, clip.info.duration_s)

    def timeline(self, path: str | os.PathLike, window_s: float = 4.0,
                 stride_s: float = 1.0) -> tuple[list[VideoPrediction], list[Segment]]:
        """Labels sliding windows across a video and merges them into segments.

        The video is decoded once at `num_frames / window_s` frames per second;
        each window is one clip of `num_frames` frames. A window is credited
        to the middle `stride_s` of its span, so segment borders fall where
        the verdict changes.
        """
        if window_s <= 0 or stride_s <= 0:
            raise ValueError(f"Received: window_s={window_s!r}, stride_s={stride_s!r}; expected positive numbers")
        period = window_s / self.num_frames
        clip = read_frames(path, every_seconds=period, **self._frame_geometry())
        step = max(1, int(round(stride_s / period)))
        starts = list(range(0, max(1, len(clip.frames) - self.num_frames + 1), step))
        probabilities = self._window_probabilities(clip.frames, starts)
        windows = []
        for s, p in zip(starts, probabilities):
            n = min(self.num_frames, len(clip.frames) - s)
            windows.append(self._verdict(path, p, n, float(clip.timestamps_s[s]),
                                         float(clip.timestamps_s[s + n - 1]) + period))
        return windows, merge_windows(windows, clip.info.duration_s)


    def _frame_geometry(self) -> dict:
        """How `read_frames` should size the decoded frames for this model."""
        return {"size": self.image_size}

    def _window_probabilities(self, frames: np.ndarray, starts: Sequence[int]) -> np.ndarray:
        """`(W, K)` probabilities of the windows of `num_frames` frames beginning at `starts`."""
        clips = np.stack([self._as_clip(frames[s:s + self.num_frames]) for s in starts])
        return np.concatenate([self._predict_clips(clips[i:i + 8]) for i in range(0, len(clips), 8)])


# Pose runs decode frames at most this size on their long side: MoveNet sees
# 192 or 256 px anyway, and a 1080p timeline would otherwise hold gigabytes.
POSE_MAX_FRAME_SIDE = 640


class PoseVideoClassifier(VideoClassifier):
    """A pose run as a video classifier: MoveNet keypoints, pose features, then the LSTM or a vote.

    Build with `VideoClassifier.from_run` on a run trained with a `movenet_*`
    model_name.
    """

    def __init__(self, encoder, model: keras.Model, class_names: Sequence[str], num_frames: int,
                 description: str, vote_method: str | None = None):
        super().__init__(model, class_names, num_frames, POSE_MAX_FRAME_SIDE, description)
        self.encoder = encoder
        self._vote_method = vote_method

    @classmethod
    def from_run(cls, run_dir: Path, config: dict, class_names: Sequence[str], temporal: str,
                 vote_method: str | None = None) -> "PoseVideoClassifier":
        from toolkit.training.pose_trainer import (POSE_FRAME_MODEL_FILE, POSE_SEQUENCE_MODEL_FILE,
                                                   load_pose_encoder)

        if temporal not in ("vote", "lstm"):
            raise ValueError(f"Received: temporal={temporal!r}; expected one of ['vote', 'lstm']")
        name = POSE_SEQUENCE_MODEL_FILE if temporal == "lstm" else POSE_FRAME_MODEL_FILE
        if not (run_dir / name).is_file():
            raise FileNotFoundError(f"Pose run '{run_dir}' has no {name}; train it again with "
                                    f"recipes/train_video_classifier.py --model-name {config['model_name']}.")
        encoder = load_pose_encoder(config["model_name"], config["pose_model_dir"])
        model = keras.models.load_model(run_dir / name)
        num_frames = int(config["frames_per_video"])
        if temporal == "lstm":
            return cls(encoder, model, class_names, num_frames, f"LSTM over {config['model_name']} pose")
        method = vote_method or config.get("vote_method", "mean")
        return cls(encoder, model, class_names, num_frames,
                   f"{method} vote over frames of {config['model_name']} pose", method)

    def _frame_geometry(self) -> dict:
        # MoveNet letterboxes frames itself: keep their aspect ratio.
        return {"max_side": POSE_MAX_FRAME_SIDE}

    def _keypoint_probabilities(self, keypoint_windows: Sequence[np.ndarray]) -> np.ndarray:
        """`(W, K)` probabilities of windows of keypoints `(n, 17, 3)`."""
        from toolkit.models.pose_features import pose_features, sample_uniform
        from toolkit.training.pose_trainer import pose_frame_probabilities, vote_pose_frames

        features = np.stack([sample_uniform(pose_features(k), self.num_frames) for k in keypoint_windows])
        if self._vote_method is None:
            return self._predict(features)
        probabilities, seen = pose_frame_probabilities(self.model, features)
        return vote_pose_frames(probabilities, seen, self._vote_method)

    def classify(self, path: str | os.PathLike) -> VideoPrediction:
        clip = read_frames(path, self.num_frames, **self._frame_geometry())
        probabilities = self._keypoint_probabilities([self.encoder(clip.frames)])[0]
        return self._verdict(path, probabilities, len(clip.frames), 0.0, clip.info.duration_s)

    def _window_probabilities(self, frames: np.ndarray, starts: Sequence[int]) -> np.ndarray:
        keypoints = self.encoder(frames)  # each frame once, however many windows share it
        return self._keypoint_probabilities([keypoints[s:s + self.num_frames] for s in starts])


def merge_windows(windows: Sequence[VideoPrediction], duration_s: float) -> list[Segment]:
    """Consecutive windows with one label become a segment; borders fall between window centres."""
    if not windows:
        return []
    centres = [(w.start_s + w.end_s) / 2 for w in windows]
    segments: list[Segment] = []
    for i, window in enumerate(windows):
        start = 0.0 if i == 0 else (centres[i - 1] + centres[i]) / 2
        end = duration_s if i == len(windows) - 1 else (centres[i] + centres[i + 1]) / 2
        if segments and segments[-1].label == window.label:
            last = segments[-1]
            segments[-1] = Segment(last.label, last.start_s, round(end, 3), max(last.confidence, window.confidence))
        else:
            segments.append(Segment(window.label, round(start, 3), round(end, 3), window.confidence))
    return segments


__all__ = ["PoseVideoClassifier", "VideoClassifier", "VideoPrediction", "Segment", "merge_windows"]
