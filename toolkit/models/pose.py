"""MoveNet as a pretrained pose encoder, loaded from TensorFlow.js graph-model files.

A TF.js graph model is a JSON file (`modelTopology`: a GraphDef in protobuf
JSON; `weightsManifest`: names, shapes, dtypes and quantization of the
weights) plus binary shards. `load_tfjs_graph_model` rebuilds a TensorFlow
graph from them without the tensorflowjs package:

* the weights are read from the shards and dequantized (float16, or uint8
  and uint16 with scale and min) into the graph's `Const` nodes;
* TF.js keeps fused ops that stock TensorFlow cannot import as they are
  (`FusedDepthwiseConv2dNative` is TF.js-only, and `_FusedConv2D` lacks the
  attributes TensorFlow needs), so each is expanded back into its plain ops:
  convolution, `BiasAdd`, then the activation;
* the graph is imported and pruned to a concrete function from the input to
  the output.

`MoveNet` wraps the single-pose Lightning (192 px) or Thunder (256 px)
models: frames in, 17 COCO keypoints `(y, x, score)` out, in the frame's own
normalised coordinates.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

import numpy as np
import tensorflow as tf
from google.protobuf import json_format

KEYPOINT_NAMES = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
                  "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
                  "right_knee", "left_ankle", "right_ankle")
MOVENET_VARIANTS = {"lightning": 192, "thunder": 256}

_NUMPY_DTYPES = {"float32": np.float32, "int32": np.int32, "bool": np.bool_, "float16": np.float16,
                 "uint8": np.uint8, "uint16": np.uint16, "int64": np.int64}


class PoseModelError(RuntimeError):
    """A pose model is missing or malformed; the message names the file and the problem."""


def _read_weights(model_dir: Path, manifest: list[dict]) -> dict[str, np.ndarray]:
    """All weights of a TF.js manifest as float32/int32 arrays, dequantized."""
    weights = {}
    for group in manifest:
        data = b""
        for shard in group["paths"]:
            path = model_dir / shard
            if not path.is_file():
                raise PoseModelError(f"Weights shard '{path}' named in the model's manifest is missing.")
            data += path.read_bytes()
        offset = 0
        for spec in group["weights"]:
            shape = [int(d) for d in spec["shape"]]
            count = int(np.prod(shape)) if shape else 1
            quantization = spec.get("quantization")
            stored = quantization["dtype"] if quantization else spec["dtype"]
            if stored not in _NUMPY_DTYPES:
                raise PoseModelError(f"Weight {spec['name']!r} has unsupported dtype {stored!r}.")
            stored_type = np.dtype(_NUMPY_DTYPES[stored])
            size = count * stored_type.itemsize
            if offset + size > len(data):
                raise PoseModelError(f"Weights of {model_dir} end early: {spec['name']!r} needs bytes "
                                     f"{offset}-{offset + size} of {len(data)}.")
            raw = np.frombuffer(data, dtype=stored_type, count=count, offset=offset).reshape(shape)
            offset += size
            target = np.dtype(_NUMPY_DTYPES[spec["dtype"]])
            if quantization and stored in ("uint8", "uint16"):
                # Affine quantization: value = q * scale + min.
                value = raw.astype(np.float32) * quantization["scale"] + quantization["min"]
            else:
                value = raw
            weights[spec["name"]] = value.astype(target)
    return weights


def _attr_string(node, key: str) -> list[str]:
    values = node.attr[key].list.s if key in node.attr else []
    return [v.decode() if isinstance(v, bytes) else v for v in values]


def _unfuse(graph_def: tf.compat.v1.GraphDef) -> tf.compat.v1.GraphDef:
    """Rewrites `_FusedConv2D` / `FusedDepthwiseConv2dNative` as conv -> BiasAdd -> activation."""
    out = tf.compat.v1.GraphDef()
    out.versions.CopyFrom(graph_def.versions)
    activations = {"Relu": "Relu", "Relu6": "Relu6", "Elu": "Elu", "LeakyRelu": "LeakyRelu", "Sigmoid": "Sigmoid",
                   "Tanh": "Tanh"}
    for node in graph_def.node:
        if node.op not in ("_FusedConv2D", "FusedDepthwiseConv2dNative"):
            out.node.add().CopyFrom(node)
            continue
        fused = _attr_string(node, "fused_ops")
        if not fused or fused[0] != "BiasAdd" or len(fused) > 2 or (len(fused) == 2 and fused[1] not in activations):
            raise PoseModelError(f"Node {node.name!r}: fused ops {fused} are not supported "
                                 f"(expected BiasAdd, optionally followed by an activation).")
        conv = out.node.add()
        conv.name = f"{node.name}/unfused_conv"
        conv.op = "Conv2D" if node.op == "_FusedConv2D" else "DepthwiseConv2dNative"
        conv.input.extend(node.input[:2])
        conv.device = node.device
        for key in ("T", "strides", "padding", "data_format", "dilations", "explicit_paddings"):
            if key in node.attr:
                conv.attr[key].CopyFrom(node.attr[key])
        if conv.op == "Conv2D" and "use_cudnn_on_gpu" in node.attr:
            conv.attr["use_cudnn_on_gpu"].CopyFrom(node.attr["use_cudnn_on_gpu"])
        bias = out.node.add()
        bias.name = node.name if len(fused) == 1 else f"{node.name}/unfused_bias"
        bias.op = "BiasAdd"
        bias.input.extend([conv.name, node.input[2]])
        bias.attr["T"].CopyFrom(node.attr["T"])
        if "data_format" in node.attr:
            bias.attr["data_format"].CopyFrom(node.attr["data_format"])
        if len(fused) == 2:
            act = out.node.add()
            act.name = node.name  # Consumers refer to the fused node's name.
            act.op = activations[fused[1]]
            act.input.append(bias.name)
            act.attr["T"].CopyFrom(node.attr["T"])
    return out


def load_tfjs_graph_model(model_json: str | os.PathLike) -> tuple[Callable, dict]:
    """Loads a TF.js graph model; returns (function input -> output, its signature).

    Raises:
        PoseModelError: missing file, malformed JSON, missing or short weights.
    """
    path = Path(model_json)
    if path.is_dir():
        candidates = sorted(path.glob("*.json"))
        if len(candidates) != 1:
            raise PoseModelError(f"Expected one model JSON in '{path}', found {[c.name for c in candidates]}.")
        path = candidates[0]
    if not path.is_file():
        raise PoseModelError(f"Pose model '{path}' not found. Point to a TF.js graph-model JSON "
                             f"(e.g. ../shared/models/movenet/movenet-lightning.json) or a folder holding one.")
    try:
        document = json.loads(path.read_text())
        topology, manifest = document["modelTopology"], document["weightsManifest"]
    except (json.JSONDecodeError, KeyError, UnicodeDecodeError) as error:
        raise PoseModelError(f"'{path}' is not a TF.js graph model (needs modelTopology and weightsManifest): "
                             f"{error}") from error
    graph_def = json_format.ParseDict({k: v for k, v in topology.items() if k in ("node", "versions", "library")},
                                      tf.compat.v1.GraphDef(), ignore_unknown_fields=True)
    weights = _read_weights(path.parent, manifest)
    for node in graph_def.node:
        if node.op == "Const" and node.name in weights:
            value = weights[node.name]
            node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(value, dtype=tf.as_dtype(value.dtype)))
            node.attr["dtype"].type = tf.as_dtype(value.dtype).as_datatype_enum
    graph_def = _unfuse(graph_def)

    signature = document.get("signature") or {}
    inputs = list(signature.get("inputs", {})) or [n.name + ":0" for n in graph_def.node if n.op == "Placeholder"]
    outputs = list(signature.get("outputs", {})) or ["Identity:0"]

    def import_graph():
        tf.compat.v1.import_graph_def(graph_def, name="")

    try:
        wrapped = tf.compat.v1.wrap_function(import_graph, [])
        function = wrapped.prune(feeds=[wrapped.graph.get_tensor_by_name(inputs[0])],
                                 fetches=[wrapped.graph.get_tensor_by_name(outputs[0])])
    except (ValueError, KeyError, tf.errors.OpError) as error:
        raise PoseModelError(f"TensorFlow could not import the graph of '{path}': {error}") from error
    return function, {"inputs": inputs, "outputs": outputs, "path": str(path)}


def letterbox(frames: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Resizes `(N, H, W, 3)` frames into `size` squares keeping aspect ratio (zero padding).

    Returns the boxes and, per frame, (scale_y, scale_x, offset_y, offset_x)
    mapping box coordinates in [0, 1] back to frame coordinates in [0, 1]:
    frame = (box - offset) * scale.
    """
    import cv2

    n, height, width = frames.shape[:3]
    ratio = size / max(height, width)
    new_h, new_w = max(1, round(height * ratio)), max(1, round(width * ratio))
    top, left = (size - new_h) // 2, (size - new_w) // 2
    boxes = np.zeros((n, size, size, 3), dtype=np.uint8)
    for i in range(n):
        boxes[i, top:top + new_h, left:left + new_w] = cv2.resize(frames[i], (new_w, new_h),
                                                                  interpolation=cv2.INTER_AREA)
    transform = np.array([size / new_h, size / new_w, top / size, left / size], dtype=np.float32)
    return boxes, np.broadcast_to(transform, (n, 4))


class MoveNet:
    """Single-pose MoveNet: frames -> 17 COCO keypoints (y, x, score) in frame coordinates.

    Args:
        model: "lightning" or "thunder" (looked up in `models_dir`), a model
            JSON path, or a folder holding one (e.g. a downloaded TF.js model).
        models_dir: where the named variants live, as `movenet-<variant>.json`
            (+ weights) or `<variant>/model.json` (+ shards, as downloaded).
    """

    def __init__(self, model: str = "lightning", models_dir: str | os.PathLike = "../shared/models/movenet"):
        if model in MOVENET_VARIANTS:
            folder = Path(models_dir)
            candidates = [folder / f"movenet-{model}.json", folder / model / "model.json"]
            path = next((c for c in candidates if c.is_file()), None)
            if path is None:
                raise PoseModelError(
                    f"MoveNet {model} not found. Looked for {[str(c) for c in candidates]}. Set config "
                    f"pose_model_dir (--pose-model-dir) to the folder holding movenet-{model}.json and its .bin "
                    f"weights; with a network, download the TF.js model of "
                    f"tfhub.dev/google/movenet/singlepose/{model}/4 (model.json and shards) into "
                    f"{folder / model}/.")
        else:
            path = Path(model)
        self.function, self.signature = load_tfjs_graph_model(path)
        shape = self.function.inputs[0].shape
        self.input_size = int(shape[1])
        # Names the keypoint cache: one file per variant.
        self.name = f"movenet-{model}" if model in MOVENET_VARIANTS else Path(self.signature["path"]).stem

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """`(N, H, W, 3)` uint8 RGB -> `(N, 17, 3)` float32 (y, x, score), y and x in [0, 1]."""
        frames = np.asarray(frames)
        if frames.ndim == 3:
            frames = frames[None]
        boxes, transforms = letterbox(frames, self.input_size)
        keypoints = np.zeros((len(frames), 17, 3), dtype=np.float32)
        for i, box in enumerate(boxes):  # The graph takes one image at a time.
            out = self.function(tf.constant(box[None].astype(np.int32)))
            keypoints[i] = np.asarray(out[0] if isinstance(out, (list, tuple)) else out).reshape(17, 3)
        keypoints[:, :, 0] = (keypoints[:, :, 0] - transforms[:, None, 2]) * transforms[:, None, 0]
        keypoints[:, :, 1] = (keypoints[:, :, 1] - transforms[:, None, 3]) * transforms[:, None, 1]
        return keypoints

