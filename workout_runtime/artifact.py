"""Exported LiteRT or ONNX artifacts as a backend of the inference pipeline: NumPy, OpenCV and the runtime package,
no TensorFlow.

    classifier = ArtifactVideoClassifier("exports/pose_vote.tflite")   # reads pose_vote.tflite.json
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
import numpy as np

from workout_runtime.errors import RunError
from workout_runtime.pipeline import Backend, VideoPipeline
from workout_runtime.verdicts import image_rule_from_info, rule_from_info


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


class ArtifactBackend(Backend):
    """An exported artifact as a pipeline backend: its items are the frames, and each window runs the whole graph.

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

    def encode(self, frames: np.ndarray) -> np.ndarray:
        """The frames themselves, checked against the contract: the artifact encodes them with each window."""
        frames = np.asarray(frames, dtype=np.uint8)
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise RunError(f"The exported model takes RGB frames (T, H, W, 3); received an array of shape "
                           f"{frames.shape}.")
        if self.frame_size and len(frames) and frames.shape[1:3] != (self.frame_size, self.frame_size):
            raise RunError(f"The exported model takes {self.frame_size}x{self.frame_size} frames (its contract); "
                           f"received {frames.shape[1]}x{frames.shape[2]}. Resize them, or read the video with "
                           f"this classifier, which does.")
        return frames

    def windows(self, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        probabilities, evidence = [], []
        for window in items:
            outputs = self.model(np.ascontiguousarray(window[None]))
            probabilities.append(np.asarray(outputs["probabilities"])[0])
            evidence.append(int(round(float(np.ravel(outputs["frames_with_evidence"])[0]))))
        return np.asarray(probabilities).reshape(len(items), len(self.class_names)), np.asarray(evidence, np.int64)


class ArtifactVideoClassifier(VideoPipeline):
    """The inference pipeline over an exported artifact (`ArtifactBackend`), as `toolkit`'s `VideoClassifier`
    is over a run. Same arguments as `ArtifactBackend`."""

    def __init__(self, artifact: str | os.PathLike, reject: bool = True, runner=None):
        super().__init__(ArtifactBackend(artifact, reject, runner))
