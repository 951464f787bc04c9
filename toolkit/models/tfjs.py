"""TensorFlow.js graph models as TensorFlow functions, without the tensorflowjs package.

A TF.js graph model is a JSON file (`modelTopology`: a GraphDef in protobuf
JSON; `weightsManifest`: names, shapes, dtypes and quantization of the
weights) plus binary shards. `graph_function` rebuilds a TensorFlow function
from the JSON text and the shards' bytes:

* the weights are dequantized (float16, or uint8 and uint16 with scale and
  min) into the graph's `Const` nodes;
* TF.js keeps fused ops that stock TensorFlow cannot import as they are
  (`FusedDepthwiseConv2dNative` is TF.js-only, and `_FusedConv2D` lacks the
  attributes TensorFlow needs), so each is expanded back into its plain ops:
  convolution, `BiasAdd`, then the activation;
* the graph is imported and pruned to a concrete function from the input to
  the output.

Keeping the model as bytes (not files) lets a Keras layer store it as a
weight and rebuild the function when a saved model loads.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

import numpy as np
import tensorflow as tf
from google.protobuf import json_format

from toolkit.errors import UserError

_NUMPY_DTYPES = {"float32": np.float32, "int32": np.int32, "bool": np.bool_, "float16": np.float16,
                 "uint8": np.uint8, "uint16": np.uint16, "int64": np.int64}
_ACTIVATIONS = ("Relu", "Relu6", "Elu", "LeakyRelu", "Sigmoid", "Tanh")


class PoseModelError(UserError, RuntimeError):
    """A pose model is missing or malformed; the message names the file and the problem."""


def _parse_document(json_bytes: bytes, origin: str) -> dict:
    try:
        document = json.loads(json_bytes.decode())
        document["modelTopology"], document["weightsManifest"]
    except (json.JSONDecodeError, KeyError, UnicodeDecodeError, TypeError) as error:
        raise PoseModelError(f"'{origin}' is not a TF.js graph model (needs modelTopology and weightsManifest): "
                             f"{error}") from None
    return document


def read_tfjs_files(model_json: str | os.PathLike) -> tuple[bytes, bytes]:
    """The model JSON's bytes and its weight shards' bytes, concatenated in manifest order.

    Args:
        model_json: the model's JSON file, or a folder holding exactly one.

    Raises:
        PoseModelError: missing file or shard, or not a TF.js graph model.
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
    json_bytes = path.read_bytes()
    document = _parse_document(json_bytes, str(path))
    shards = []
    for group in document["weightsManifest"]:
        for shard in group["paths"]:
            shard_path = path.parent / shard
            if not shard_path.is_file():
                raise PoseModelError(f"Weights shard '{shard_path}' named in the model's manifest is missing.")
            shards.append(shard_path.read_bytes())
    return json_bytes, b"".join(shards)


def _read_weights(manifest: list[dict], data: bytes, origin: str) -> dict[str, np.ndarray]:
    """All weights of a TF.js manifest as float32/int32 arrays, dequantized."""
    weights = {}
    offset = 0
    for group in manifest:
        for spec in group["weights"]:
            shape = [int(d) for d in spec["shape"]]
            count = int(np.prod(shape)) if shape else 1
            quantization = spec.get("quantization")
            stored = quantization["dtype"] if quantization else spec["dtype"]
            if stored not in _NUMPY_DTYPES:
                raise PoseModelError(f"Weight {spec['name']!r} of '{origin}' has unsupported dtype {stored!r}.")
            stored_type = np.dtype(_NUMPY_DTYPES[stored])
            size = count * stored_type.itemsize
            if offset + size > len(data):
                raise PoseModelError(f"Weights of '{origin}' end early: {spec['name']!r} needs bytes "
                                     f"{offset}-{offset + size} of {len(data)}.")
            raw = np.frombuffer(data, dtype=stored_type, count=count, offset=offset).reshape(shape)
            offset += size
            if quantization and stored in ("uint8", "uint16"):
                # Affine quantization: value = q * scale + min.
                raw = raw.astype(np.float32) * quantization["scale"] + quantization["min"]
            weights[spec["name"]] = raw.astype(np.dtype(_NUMPY_DTYPES[spec["dtype"]]))
    return weights


def _attr_string(node, key: str) -> list[str]:
    values = node.attr[key].list.s if key in node.attr else []
    return [v.decode() if isinstance(v, bytes) else v for v in values]


def _unfuse(graph_def: tf.compat.v1.GraphDef) -> tf.compat.v1.GraphDef:
    """Rewrites `_FusedConv2D` / `FusedDepthwiseConv2dNative` as conv -> BiasAdd -> activation."""
    out = tf.compat.v1.GraphDef()
    out.versions.CopyFrom(graph_def.versions)
    for node in graph_def.node:
        if node.op not in ("_FusedConv2D", "FusedDepthwiseConv2dNative"):
            out.node.add().CopyFrom(node)
            continue
        fused = _attr_string(node, "fused_ops")
        if not fused or fused[0] != "BiasAdd" or len(fused) > 2 or (len(fused) == 2 and fused[1] not in _ACTIVATIONS):
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
            act.op = fused[1]
            act.input.append(bias.name)
            act.attr["T"].CopyFrom(node.attr["T"])
    return out


# Every op MoveNet Lightning's and Thunder's graphs hold (after the fused convolutions are unfused), and no
# other: a graph stored in a model file is only imported when it is made of these. TensorFlow has ops that
# read and write files or run code (ReadFile, WriteFile, PyFunc, ...); a crafted `.keras` file must not be able
# to run them on its first prediction, whatever `safe_mode` says (it checks Keras layers, not graphs).
ALLOWED_OPS = frozenset({
    "AddV2", "ArgMax", "BiasAdd", "Cast", "ConcatV2", "Const", "Conv2D", "DepthwiseConv2dNative", "ExpandDims",
    "FloorDiv", "GatherNd", "Identity", "Mul", "Pack", "Placeholder", "RealDiv", "Relu", "Relu6", "Reshape",
    "ResizeBilinear", "Sigmoid", "Sqrt", "SquaredDifference", "Squeeze", "Sub", "Unpack", "Elu", "Tanh",
    "LeakyRelu"})


def check_graph_ops(graph_def, origin: str, ops: bool = True) -> None:
    """Refuses a graph with an op off `ALLOWED_OPS` or with functions of its own (which could hide any op).

    Raises:
        PoseModelError: naming the op (or the function) and the node.
    """
    if len(graph_def.library.function):
        names = [f.signature.name for f in graph_def.library.function][:3]
        raise PoseModelError(f"The pose graph in '{origin}' defines functions {names}; a MoveNet graph has none, so "
                             f"it is refused (a model file must not run code). Use MoveNet's own files.")
    for node in graph_def.node if ops else ():
        if node.op not in ALLOWED_OPS:
            raise PoseModelError(f"The pose graph in '{origin}' holds op {node.op!r} (node {node.name!r}), which is "
                                 f"not one of MoveNet's ops; it is refused (a model file must not run code). Use "
                                 f"MoveNet's own files.")


def graph_function(json_bytes: bytes, weights_bytes: bytes, origin: str = "model") -> tuple[Callable, list[int]]:
    """A TF.js graph model as a TensorFlow function; returns (function, its input shape).

    Raises:
        PoseModelError: malformed JSON, short weights, unsupported ops, an op off `ALLOWED_OPS`.
    """
    document = _parse_document(json_bytes, origin)
    topology = document["modelTopology"]
    graph_def = json_format.ParseDict({k: v for k, v in topology.items() if k in ("node", "versions", "library")},
                                      tf.compat.v1.GraphDef(), ignore_unknown_fields=True)
    weights = _read_weights(document["weightsManifest"], weights_bytes, origin)
    for node in graph_def.node:
        if node.op == "Const" and node.name in weights:
            value = weights[node.name]
            node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(value, dtype=tf.as_dtype(value.dtype)))
            node.attr["dtype"].type = tf.as_dtype(value.dtype).as_datatype_enum
    check_graph_ops(graph_def, origin, ops=False)  # functions first: unfusing would drop them unseen
    graph_def = _unfuse(graph_def)
    check_graph_ops(graph_def, origin)
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
        raise PoseModelError(f"TensorFlow could not import the graph of '{origin}': {error}") from None
    return function, [int(d) if d is not None else -1 for d in function.inputs[0].shape]
