"""Exporting a run to SavedModel, LiteRT or ONNX: one artifact from uint8 frames to class probabilities.

    export_run("runs/pose", "exports/pose_vote.tflite", fmt="tflite", aggregator="vote")

The artifact is the run's video model for one aggregator, encoder included
(MoveNet too), with two outputs:

* `probabilities` `(1, K)`: the class probabilities;
* `frames_with_evidence` `(1,)`: how many of the clip's frames the encoder
  found usable (for pose encoders: showed a body), for the "unknown" rule.

Its input is one clip `(1, T, H, W, 3)` uint8 RGB: square frames of the run's
`image_size` for pixel encoders; for pose encoders frames of any size (the
model letterboxes them), the long side at most 640 as the toolkit reads them.
A JSON contract beside it (`<artifact>.json`) records the class names, T, the
frame geometry, the outputs, the rejection rule, the toolkit version and the
run; `workout_runtime.artifact` runs LiteRT and ONNX artifacts from it with
NumPy, OpenCV and the runtime package alone.

LiteRT artifacts convert from a frozen graph (variables folded into constants:
Keras 3 variables would otherwise reach the interpreter uninitialised) with
builtin ops only; `quantize="float16"` halves the weights, `"int8"` quantizes
them and the activations with a representative dataset of the run's own
training clips. ONNX artifacts convert through tf2onnx at opset 17;
`quantize="int8"` quantizes the weights (onnxruntime's dynamic quantization).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from toolkit.errors import RunError, UserError
from toolkit.temporal.layers import FeatureMask
from toolkit.temporal.run_files import load_video_model, read_run_info
from toolkit.temporal.video_model import FRAME_FEATURES_NAME

FORMATS = ("savedmodel", "tflite", "onnx")
QUANTIZATIONS = ("none", "float16", "int8")
ONNX_OPSET = 17
EXTENSIONS = {"savedmodel": "", "tflite": ".tflite", "onnx": ".onnx"}


class ExportError(UserError, ValueError):
    """An export that cannot be made as asked; the message says what to change or install."""


@dataclasses.dataclass
class Exported:
    """An artifact on disk and its contract."""

    path: Path
    contract_path: Path
    contract: dict
    run_dir: Path


@keras.saving.register_keras_serializable(package="workout_toolkit")
class EvidenceCount(keras.layers.Layer):
    """`(B, T, F)` frame features -> `(B,)` number of frames whose features are not all zero."""

    def call(self, features):
        return keras.ops.sum(keras.ops.cast(FeatureMask()(features), "float32"), axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],)


def build_export_model(video_model: keras.Model) -> keras.Model:
    """The video model with a second output, the clip's number of frames with evidence (same weights)."""
    clips = video_model.input
    features = video_model.get_layer(FRAME_FEATURES_NAME).output
    probabilities = video_model.output
    evidence = EvidenceCount(name="frames_with_evidence")(features)
    return keras.Model(clips, {"probabilities": probabilities, "frames_with_evidence": evidence},
                       name=f"{video_model.name}_export")


def _input_spec(info, num_frames: int) -> tf.TensorSpec:
    size = info.frame_size
    return tf.TensorSpec([1, num_frames, size, size, 3] if size else [1, num_frames, None, None, 3], tf.uint8,
                         name="frames")


def _frozen_function(model: keras.Model, spec: tf.TensorSpec):
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    function = tf.function(lambda frames: model(frames, training=False))
    return convert_variables_to_constants_v2(function.get_concrete_function(spec))


def run_clips(run_dir: Path, info, subset: str = "train", count: int = 24):
    """Clips of the run's own videos of one side of its split, in the export's geometry (from the frame folder)."""
    import csv

    from toolkit.data.sources import load_dataset
    from workout_runtime.images import read_image
    from workout_runtime.frame_geometry import fit_frames
    from workout_runtime.video import uniform_indices

    described = dict(info.dataset) or {"frames": info.frames_dir}
    try:
        rows = load_dataset(**described).rows
    except UserError as error:
        raise ExportError(f"Int8 calibration and parity checks read the run's frames, which could not be read "
                          f"({error}); restore the frame folder (or export with --quantize none).") from None
    with open(run_dir / "split.csv", newline="") as f:
        chosen = {r["video_id"] for r in csv.DictReader(f) if r["subset"] == subset}
    videos: dict[str, list] = {}
    for row in rows:
        if row["video_id"] in chosen:
            videos.setdefault(row["video_id"], []).append(row)
    for frames in list(videos.values())[:count]:
        frames.sort(key=lambda r: int(r.get("frame_index") or 0))
        images = [read_image(frames[i].get("abs_path", frames[i]["path"]))
                  for i in uniform_indices(len(frames), info.num_frames)]
        # Frames of one video share a size; fitted as classify_video reads them.
        images = fit_frames(np.stack(images), info.frame_size, info.max_side)
        clip = np.zeros((1, info.num_frames, *images[0].shape), np.uint8)
        clip[0, :len(images)] = images
        yield [clip]


def tflite_bytes(model: keras.Model, spec: tf.TensorSpec, quantize: str = "none", representative=None) -> bytes:
    """A Keras model as a LiteRT flatbuffer of builtin ops (frozen first; see the module's docstring).

    Args:
        model: any Keras model taking one tensor of `spec`.
        spec: the input's spec (None dimensions stay dynamic: resize the interpreter's input).
        quantize: "none", "float16" or "int8".
        representative: with "int8", a callable returning an iterator of `[input]` lists to calibrate on.
    """
    converter = tf.lite.TFLiteConverter.from_concrete_functions([_frozen_function(model, spec)])
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantize == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif quantize == "int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
    return converter.convert()


def _export_tflite(model, spec, out: Path, quantize: str, run_dir: Path, info) -> None:
    representative = None
    if quantize == "int8":
        clips = list(run_clips(run_dir, info, "train"))
        representative = lambda: iter(clips)  # noqa: E731
    out.write_bytes(tflite_bytes(model, spec, quantize, representative))


def _export_onnx(model, spec, out: Path, quantize: str) -> None:
    try:
        import tf2onnx
    except ImportError:
        raise ExportError("ONNX export needs tf2onnx and onnx: pip install \"tf2onnx>=1.17\" \"onnx>=1.23\" (or the "
                          "toolkit's extra: pip install -e \".[dev]\").") from None
    function = tf.function(lambda frames: model(frames, training=False))
    if quantize == "float16":
        raise ExportError("float16 ONNX export is not offered (onnxruntime runs float16 models slower than float32 on "
                          "CPUs); use --quantize none or int8 for ONNX, or float16 with --format tflite.")
    target = out if quantize == "none" else out.with_suffix(".float.onnx")
    tf2onnx.convert.from_function(function, input_signature=[spec], opset=ONNX_OPSET, output_path=str(target))
    if quantize == "int8":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(target), str(out), weight_type=QuantType.QInt8)
        target.unlink()


# The parity an artifact must keep with the Keras model on held-out clips to be written: the largest
# probability difference, and every clip's top class and frames-with-evidence count the same.
PARITY_TOLERANCE = {"none": 1e-3, "float16": 2e-2, "int8": 0.1}


def _checked_parity(staged: Exported, clips: int, fmt: str, quantize: str) -> dict:
    """The staged artifact's parity with the Keras model on `clips` held-out clips, or the `ExportError` that keeps
    it from being written."""
    info = read_run_info(staged.run_dir)
    try:
        parity = check_parity(staged, run_clips(staged.run_dir, info, "test", clips))
    except (ExportError, RunError):
        raise
    except Exception as error:  # noqa: BLE001 - a runtime that cannot run the artifact raises many types
        raise ExportError(f"The {fmt} artifact ({quantize}) fails on the run's held-out clips "
                          f"({type(error).__name__}: {str(error)[:200]}). Nothing was written; try another "
                          f"--quantize.") from None
    tolerance = PARITY_TOLERANCE[quantize]
    if (parity["max_abs_difference"] > tolerance or parity["top1_agreement"] < 1.0
            or parity["evidence_agreement"] < 1.0):
        raise ExportError(
            f"The {fmt} artifact ({quantize}) differs from the Keras model on {parity['clips']} held-out "
            f"clips: largest probability difference {parity['max_abs_difference']:.2e} (allowed "
            f"{tolerance:g}), same top class on {parity['top1_agreement']:.0%}, same evidence on "
            f"{parity['evidence_agreement']:.0%}. Nothing was written; try another --quantize.")
    return parity


def export_run(run_dir: str | os.PathLike, out_path: str | os.PathLike | None = None, fmt: str = "tflite",
               aggregator: str | None = None, quantize: str = "none", check: int = 0) -> Exported:
    """Exports one aggregator of a run.

    Args:
        run_dir: a run folder.
        out_path: the artifact (a folder for SavedModel); default
            `<run_dir>/export/<aggregator>[_<quantize>]<extension>`.
        fmt: "savedmodel", "tflite" or "onnx".
        aggregator: "vote", "lstm" or "transformer"; default the run's.
        quantize: "none", "float16" (LiteRT) or "int8" (LiteRT, ONNX).
        check: held-out clips of the run the artifact must match the Keras
            model on (`PARITY_TOLERANCE`) before it is moved into place; 0
            skips the check. A failing artifact is never written.

    Raises:
        ExportError: unknown format or quantization, a combination not
            offered (int8 for a run with MoveNet inside), a missing converter
            package, or an artifact that fails its parity check.
        RunError: not a run, or it lacks the aggregator.
    """
    if fmt not in FORMATS:
        raise ExportError(f"Unknown export format. Received: format={fmt!r}; expected one of {list(FORMATS)}")
    if quantize not in QUANTIZATIONS:
        raise ExportError(f"Unknown quantization. Received: quantize={quantize!r}; expected one of "
                          f"{list(QUANTIZATIONS)}")
    if fmt == "savedmodel" and quantize != "none":
        raise ExportError(f"A SavedModel is exported in float32; quantize={quantize!r} applies to --format tflite "
                          f"(float16, int8) and onnx (int8).")
    run_dir = Path(run_dir)
    info = read_run_info(run_dir)
    if quantize == "int8" and info.frame_size is None:
        # Int8 rounds MoveNet's letterbox and the pose features' divisions by small lengths to zero
        # (LiteRT: "DIV ... data[i] != zero_point" on every clip); the artifact would never run.
        raise ExportError(f"Run '{run_dir}' has MoveNet inside ({info.model_name}); int8 breaks its pose arithmetic. "
                          f"Export it with --quantize float16 (half the size) or none.")
    aggregator = aggregator or info.default_aggregator
    model = build_export_model(load_video_model(run_dir, aggregator, info))
    spec = _input_spec(info, info.num_frames)
    suffix = "" if quantize == "none" else f"_{quantize}"
    out = Path(out_path) if out_path else run_dir / "export" / f"{aggregator}{suffix}{EXTENSIONS[fmt]}"
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=".export-"))
    try:
        target = staging / (out.name or "model")
        if fmt == "savedmodel":
            model.export(str(target), format="tf_saved_model", input_signature=[spec], verbose=False)
        elif fmt == "tflite":
            _export_tflite(model, spec, target, quantize, run_dir, info)
        else:
            _export_onnx(model, spec, target, quantize)
        settings = info.aggregators[aggregator]
        contract = _contract(fmt, out.name, quantize, aggregator, settings, info, run_dir)
        staged_contract = target.with_name(target.name + ".json")
        staged_contract.write_text(json.dumps(contract, indent=2))
        if check > 0:  # on the staged artifact: a failing one never reaches `out`
            contract["parity"] = _checked_parity(Exported(target, staged_contract, contract, run_dir), check, fmt,
                                                 quantize)
            staged_contract.write_text(json.dumps(contract, indent=2))
        if out.is_dir():
            shutil.rmtree(out)
        elif out.exists():
            out.unlink()
        contract_path = out.with_name(out.name + ".json")
        os.replace(target, out)  # the artifact appears whole or not at all, and only once it passed
        os.replace(staged_contract, contract_path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Exported(out, contract_path, contract, run_dir)


def _contract(fmt: str, name: str, quantize: str, aggregator: str, settings: dict, info, run_dir: Path) -> dict:
    """What a runtime needs to use an artifact: classes, geometry, input, outputs, the whole rejection rule."""
    return {
        "format": fmt, "artifact": name, "quantize": quantize, "aggregator": aggregator,
        "vote_method": settings.get("method"), "model_name": info.model_name, "class_names": info.class_names,
        "num_frames": info.num_frames,
        "input": {"name": "frames", "dtype": "uint8", "shape": [1, info.num_frames, info.frame_size,
                                                                 info.frame_size, 3] if info.frame_size else
                  [1, info.num_frames, None, None, 3],
                  "frame_geometry": ({"size": info.frame_size} if info.frame_size else {"max_side": info.max_side}),
                  "order": "RGB, 0-255; frames sampled uniformly in time; missing frames all zero"},
        "outputs": {"probabilities": [1, len(info.class_names)], "frames_with_evidence": [1]},
        # The whole rule, so that every backend gives the verdict the Keras run gives.
        "rejection": {"threshold": settings.get("threshold"), "min_evidence": settings.get("min_evidence", 0.25),
                      "frame_threshold": settings.get("frame_threshold"), "other_class": settings.get("other_class"),
                      "score": settings.get("score", "max_probability")},
        # The run's folder name only: a contract carries no path of the machine that exported it.
        "toolkit_version": info.toolkit_version, "run": run_dir.resolve().name,
        "exported": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


class SavedModelRunner:
    """Runs a SavedModel export for `workout_runtime.artifact.ArtifactVideoClassifier` (`runner=`)."""

    def __init__(self, path: str | os.PathLike):
        self.loaded = tf.saved_model.load(str(path))  # kept alive: its functions reference its variables

    def __call__(self, clip: np.ndarray) -> dict[str, np.ndarray]:
        return {name: np.asarray(value) for name, value in self.loaded.serve(tf.constant(clip)).items()}


def artifact_classifier(path: str | os.PathLike, reject: bool = True):
    """An `ArtifactVideoClassifier` for any export, SavedModel included."""
    from workout_runtime.artifact import ArtifactVideoClassifier, read_contract

    runner = SavedModelRunner if read_contract(path).get("format") == "savedmodel" else None
    return ArtifactVideoClassifier(path, reject, runner)


def check_parity(exported: Exported, clips) -> dict:
    """The artifact against the run's Keras model on the same clips: largest probability difference, top-1 agreement."""
    run_dir, contract = exported.run_dir, exported.contract
    model = build_export_model(load_video_model(run_dir, contract["aggregator"]))
    artifact = artifact_classifier(exported.path).model
    differences, agree, evidence_equal = [], [], []
    for (clip,) in clips:
        reference = {k: keras.ops.convert_to_numpy(v) for k, v in model(clip, training=False).items()}
        outputs = artifact(clip)
        differences.append(float(np.abs(outputs["probabilities"] - reference["probabilities"]).max()))
        agree.append(int(outputs["probabilities"].argmax() == reference["probabilities"].argmax()))
        evidence_equal.append(float(np.ravel(outputs["frames_with_evidence"])[0])
                              == float(np.ravel(reference["frames_with_evidence"])[0]))
    return {"clips": len(differences), "max_abs_difference": max(differences, default=0.0),
            "top1_agreement": float(np.mean(agree)) if agree else 0.0,
            "evidence_agreement": float(np.mean(evidence_equal)) if evidence_equal else 0.0}


__all__ = ["EXTENSIONS", "ExportError", "Exported", "FORMATS", "QUANTIZATIONS", "RunError", "SavedModelRunner",
           "artifact_classifier", "build_export_model",
           "check_parity", "export_run", "run_clips", "tflite_bytes"]
