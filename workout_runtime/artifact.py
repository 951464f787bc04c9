"""Running an exported LiteRT or ONNX artifact: NumPy, OpenCV and the runtime package, no TensorFlow.

    classifier = ArtifactVideoClassifier.load("exports/pose_vote.tflite")   # reads pose_vote.tflite.json
    verdict = classifier.classify("clip.mp4")

The contract beside the artifact (written by `toolkit.export`) says what the
model expects: T frames sampled uniformly in time, square frames of a given
size (pixel encoders) or frames of any size with a bounded long side (pose
encoders), uint8 RGB; and how to judge its output ("unknown" when too few
frames carry evidence or the top probability is below the calibrated
threshold). LiteRT artifacts run with `ai-edge-litert` (XNNPACK on CPU), ONNX
ones with `onnxruntime`: `pip install ".[runtime]"`. SavedModel exports run
through the same class with `toolkit.export.SavedModelRunner` (TensorFlow).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from workout_runtime.errors import RunError
from workout_runtime.verdicts import (Segment, VideoPrediction, image_rule_from_info, make_verdict, merge_windows,
                                      rule_from_info)
from workout_runtime.video import fit_frames, read_frames, uniform_indices


def _by_rank(outputs) -> dict[str, np.ndarray]:
    """The two outputs told apart by shape (converters rename them): probabilities (1, K), evidence (1,)."""
    ranked = sorted(outputs, key=np.ndim)
    return {"frames_with_evidence": ranked[0], "probabilities": ranked[1]}


class _LiteRT:
    def __init__(self, path: Path):
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            raise RunError("Running a .tflite artifact needs LiteRT: pip install \"ai-edge-litert>=2.3\" (or the "
                           "toolkit's runtime extra: pip install \".[runtime]\").") from None
        # One thread per core: the interpreter's default is one, which halves MoveNet's speed on 2 cores
        # (benchmarks/pose_speed.py).
        self.interpreter = Interpreter(model_path=str(path), num_threads=os.cpu_count() or 1)
        self.input = self.interpreter.get_input_details()[0]
        self.outputs = [d["index"] for d in self.interpreter.get_output_details()]
        self.shape = None

    def __call__(self, clip: np.ndarray) -> dict[str, np.ndarray]:
        if clip.shape != self.shape:  # pose artifacts take frames of any size: resize the input, once per size
            self.interpreter.resize_tensor_input(self.input["index"], clip.shape)
            self.interpreter.allocate_tensors()
            self.shape = clip.shape
        self.interpreter.set_tensor(self.input["index"], clip)
        self.interpreter.invoke()
        return _by_rank([self.interpreter.get_tensor(index) for index in self.outputs])


class _OnnxRuntime:
    def __init__(self, path: Path):
        try:
            import onnxruntime
        except ImportError:
            raise RunError("Running an .onnx artifact needs onnxruntime: pip install \"onnxruntime>=1.32\" (or the "
                           "toolkit's runtime extra: pip install \".[runtime]\").") from None
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    def __call__(self, clip: np.ndarray) -> dict[str, np.ndarray]:
        return _by_rank(self.session.run(None, {self.input: clip}))


def read_contract(artifact: str | os.PathLike) -> dict:
    """The JSON contract beside an exported artifact.

    Raises:
        RunError: the artifact or its contract is missing or damaged.
    """
    artifact = Path(artifact)
    contract_path = artifact.with_name(artifact.name + ".json")
    if not artifact.exists():
        raise RunError(f"Exported model not found: '{artifact}'. Export one with recipes/export.py --run RUN.")
    if not contract_path.is_file():
        raise RunError(f"'{artifact}' has no contract beside it ({contract_path.name}); export it again with "
                       f"recipes/export.py, which writes both.")
    try:
        return json.loads(contract_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RunError(f"The contract '{contract_path}' is damaged ({error}); export the model again.") from None


# Runners of the light runtime; a SavedModel needs TensorFlow, so its runner lives in `toolkit.export`
# (`SavedModelRunner`, passed as `runner=`).
RUNNERS = {"tflite": _LiteRT, "onnx": _OnnxRuntime}


class ArtifactVideoClassifier:
    """Classifies videos with an exported artifact, as `toolkit`'s `VideoClassifier` does with a run.

    Args:
        artifact: the artifact (its contract beside it).
        reject: answer "unknown" by the contract's rule; False always names the top class.
        runner: what runs the artifact, `runner(path)(clip) -> {"probabilities", "frames_with_evidence"}`;
            default the light runtime's for tflite and onnx (a SavedModel: `toolkit.export.SavedModelRunner`).
    """

    def __init__(self, artifact: str | os.PathLike, reject: bool = True, runner=None):
        artifact = Path(artifact)
        self.path = artifact
        self.contract = contract = read_contract(artifact)
        runner = runner or RUNNERS.get(contract.get("format"))
        if runner is None:
            raise RunError(f"'{artifact}' is a {contract.get('format')} export; the light runtime runs tflite and onnx "
                           f"artifacts (a SavedModel needs TensorFlow: use the run with --run instead).")
        try:
            self.model = runner(artifact)
        except RunError:
            raise
        except Exception as error:  # a truncated flatbuffer or protobuf: the runtimes raise many types
            raise RunError(f"The exported model '{artifact}' is damaged or incomplete ({type(error).__name__}: "
                           f"{str(error)[:200]}); export it again.") from None
        self.class_names = list(contract["class_names"])
        self.num_frames = int(contract["num_frames"])
        geometry = contract["input"]["frame_geometry"]
        self.frame_size, self.max_side = geometry.get("size"), geometry.get("max_side")
        rule = contract.get("rejection", {})
        self.rule, self.image_rule = rule_from_info(rule, reject), image_rule_from_info(rule, reject)
        self.aggregator = contract.get("aggregator", "vote")
        self.description = (f"{contract['format']} export ({contract.get('quantize', 'none')}) of the "
                            f"{self.aggregator} model over {contract.get('model_name')} features")

    def _geometry(self) -> dict:
        return {"size": self.frame_size} if self.frame_size else {"max_side": self.max_side}

    def _check(self, frames: np.ndarray) -> None:
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise RunError(f"The exported model takes RGB frames (T, H, W, 3); received an array of shape "
                           f"{frames.shape}.")
        if self.frame_size and frames.shape[1:3] != (self.frame_size, self.frame_size):
            raise RunError(f"The exported model takes {self.frame_size}x{self.frame_size} frames (its contract); "
                           f"received {frames.shape[1]}x{frames.shape[2]}. Resize them, or read the video with "
                           f"this classifier, which does.")

    def predict_clip(self, frames: np.ndarray) -> tuple[np.ndarray, int]:
        """Up to T frames in the contract's geometry -> (probabilities `(K,)`, frames with evidence)."""
        frames = np.asarray(frames, dtype=np.uint8)
        self._check(frames)
        clip = np.zeros((1, self.num_frames, *frames.shape[1:]), dtype=np.uint8)
        clip[0, :min(len(frames), self.num_frames)] = frames[:self.num_frames]
        outputs = self.model(clip)
        return np.asarray(outputs["probabilities"])[0], int(round(float(np.ravel(outputs["frames_with_evidence"])[0])))

    def prepare_frames(self, frames: np.ndarray) -> np.ndarray:
        """Frames decoded elsewhere into the contract's geometry."""
        return fit_frames(frames, **self._geometry())

    def classify(self, path: str | os.PathLike) -> VideoPrediction:
        """Samples T frames uniformly over the video and classifies them (raises VideoReadError)."""
        clip = read_frames(path, self.num_frames, **self._geometry())
        probabilities, evidence = self.predict_clip(clip.frames)
        return make_verdict(path, probabilities, self.class_names, len(clip.frames), evidence, self.rule, 0.0,
                            clip.info.duration_s)

    def classify_frames(self, frames: np.ndarray, path: str = "<frames>", start_s: float = 0.0,
                        end_s: float = 0.0) -> VideoPrediction:
        frames = np.asarray(frames)
        frames = frames[uniform_indices(len(frames), self.num_frames)]
        probabilities, evidence = self.predict_clip(self.prepare_frames(frames))
        return make_verdict(path, probabilities, self.class_names, len(frames), evidence, self.rule, start_s, end_s)

    def classify_images(self, images: Sequence[np.ndarray], paths: Sequence[str]) -> list[VideoPrediction]:
        """Each image as a clip of one frame (for a vote export: its frame head's verdict)."""
        verdicts = []
        for image, path in zip(images, paths):
            probabilities, evidence = self.predict_clip(self.prepare_frames(np.asarray(image)[None]))
            verdicts.append(make_verdict(path, probabilities, self.class_names, 1, evidence, self.image_rule))
        return verdicts

    def timeline(self, path: str | os.PathLike, window_s: float = 4.0, stride_s: float = 1.0,
                 repetitions: bool = False) -> tuple[list[VideoPrediction], list[Segment], list]:
        """Sliding windows of T frames over the video, each classified whole, merged into segments
        (the third item, repetition counts, stays empty: see `classify_with_repetitions`)."""
        if repetitions:
            self.classify_with_repetitions(path)
        if not (window_s > 0 and stride_s > 0):
            raise ValueError(f"Received: window_s={window_s!r}, stride_s={stride_s!r}; expected positive numbers")
        period = window_s / self.num_frames
        clip = read_frames(path, every_seconds=period, **self._geometry())
        step = max(1, int(round(stride_s / period)))
        windows = []
        for start in range(0, max(1, len(clip.frames) - self.num_frames + 1), step):
            part = clip.frames[start:start + self.num_frames]
            probabilities, evidence = self.predict_clip(part)
            windows.append(make_verdict(path, probabilities, self.class_names, len(part), evidence, self.rule,
                                        float(clip.timestamps_s[start]),
                                        float(clip.timestamps_s[start + len(part) - 1]) + period))
        return windows, merge_windows(windows, clip.info.duration_s), []

    def classify_with_repetitions(self, path: str | os.PathLike, fps: float = 4.0):
        """Not available: an exported artifact outputs probabilities, not the per-frame joints counting reads."""
        raise RunError(f"Counting repetitions needs the run's pose features, which an exported model does not "
                       f"output; count with the run instead: --run RUN --reps (received the artifact "
                       f"'{self.path}').")
