"""Encoder features of every frame of a manifest, computed once and cached; clip arrays for the heads.

Heads train in seconds on cached features, for any encoder: the expensive
part (EfficientNet on 224 px images, MoveNet on every frame) runs once per
frame and encoder weights. `FeatureCache` stores `(frames, F)` features in
`<cache_dir>/<model_name>-<weights fingerprint>.npz`, keyed by frame path,
and computes only frames it has not seen, so cross-validation folds and
later runs with the same frozen encoder reuse it.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path
from typing import Mapping, Sequence

import keras
import numpy as np
import tensorflow as tf

from toolkit.data.manifest import rows_by_video
from toolkit.data.pipeline import AUTOTUNE, PREPROCESSING, decode_and_resize, decode_image
from toolkit.models.inference import GraphPredictor
from workout_runtime.video import uniform_indices


def _layer_settings(model: keras.Model):
    """Every layer's class and settings, nested models included, without the names Keras may number."""
    for layer in model.layers:
        config = {k: v for k, v in layer.get_config().items() if k not in ("name", "layers", "input_layers",
                                                                            "output_layers")}
        yield type(layer).__name__, json.dumps(config, sort_keys=True, default=str)
        if isinstance(layer, keras.Model):
            yield from _layer_settings(layer)


def encoder_fingerprint(encoder: keras.Model) -> str:
    """A short hash of an encoder's weights and layer settings: cached features are valid for exactly these.

    The settings matter as much as the weights: the same MoveNet with another
    body rule (`PoseFrameFeatures(min_joints=...)`) gives other features.
    """
    digest = hashlib.sha1()
    for kind, settings in _layer_settings(encoder):
        digest.update(f"{kind}:{settings}".encode())
    for weight in encoder.weights:
        value = np.asarray(weight)
        digest.update(str(value.shape).encode())
        digest.update(value.tobytes())
    return digest.hexdigest()[:16]


def _path(row: Mapping) -> str:
    return row.get("abs_path", row["path"])


def compute_frame_features(encoder: keras.Model, paths: Sequence[str], frame_size: int | None,
                           batch_size: int = 32, progress: bool = False,
                           predict: GraphPredictor | None = None) -> np.ndarray:
    """`(N, F)` encoder features of image files, in order.

    Square-input encoders get frames decoded and area-resized to
    `frame_size`, batched; encoders taking any size (pose) get each frame at
    its own size, one at a time (MoveNet runs per frame anyway). `predict`,
    the encoder's traced graph, can be passed in by a caller that encodes
    many small lists (a Beam worker), so that it is traced once, not per call.
    """
    from tqdm.auto import tqdm

    predict = predict or GraphPredictor(encoder)
    dataset = tf.data.Dataset.from_tensor_slices(np.asarray(paths, dtype=str))
    if frame_size:
        dataset = dataset.map(lambda p: decode_and_resize(p, frame_size), num_parallel_calls=AUTOTUNE)
        dataset = dataset.batch(batch_size)
    else:
        dataset = dataset.map(lambda p: decode_image(p)[None], num_parallel_calls=AUTOTUNE)
    outputs = []
    with tqdm(total=len(paths), desc="encoding frames", unit="frame", disable=not progress) as bar:
        for frames in dataset.prefetch(AUTOTUNE):
            outputs.append(predict(frames))
            bar.update(len(outputs[-1]))
    if not outputs:
        return np.zeros((0, encoder.output_shape[-1]), dtype=np.float32)
    return np.concatenate(outputs).astype(np.float32)


class FeatureCache:
    """Per-frame encoder features on disk, keyed by frame path and by the encoder's weights.

    Args:
        cache_dir: the folder of the cache files.
        model_name: names the cache file, with the weights' fingerprint.
        frame_size: the encoder's square input side, or None (any size).
    """

    def __init__(self, cache_dir: str | os.PathLike, model_name: str, frame_size: int | None):
        self.cache_dir = Path(cache_dir)
        self.model_name, self.frame_size = model_name, frame_size

    def path_for(self, encoder: keras.Model) -> Path:
        size = f"S{self.frame_size}" if self.frame_size else "any"
        preprocessing = hashlib.sha1(PREPROCESSING.encode()).hexdigest()[:6]
        return self.cache_dir / (f"{self.model_name.replace('+', '_')}-{encoder_fingerprint(encoder)}-{size}-"
                                 f"{preprocessing}.npz")

    def shard_dir(self, encoder: keras.Model) -> Path:
        """Where a Beam encoding stage (`toolkit.training.encoding_pipeline`) writes this cache's shards."""
        path = self.path_for(encoder)
        return path.with_name(path.stem + ".shards")

    def _read(self, path: Path, dim: int) -> dict[str, np.ndarray]:
        try:
            with np.load(path, allow_pickle=False) as data:
                features = data["features"]
                if features.ndim != 2 or features.shape[1] != dim:
                    return {}
                return dict(zip(data["paths"].tolist(), features))
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            return {}  # a damaged cache or shard (a truncated .npz is a bad zip) is recomputed, never trusted

    def get(self, encoder: keras.Model, rows: Sequence[Mapping], progress: bool = True) -> dict[str, np.ndarray]:
        """{frame path: (F,) features} for every row, computing only frames not cached yet.

        Reads the cache file and any shards a Beam encoding stage wrote beside it; frames found in neither are
        encoded here and added to the cache file.
        """
        path = self.path_for(encoder)
        dim = int(encoder.output_shape[-1])
        cached = self._read(path, dim) if path.is_file() else {}
        wanted = list(dict.fromkeys(_path(r) for r in rows))
        shards = self.shard_dir(encoder)
        if shards.is_dir() and any(p not in cached for p in wanted):
            for shard in sorted(shards.glob("*.npz")):
                cached.update(self._read(shard, dim))
        missing = [p for p in wanted if p not in cached]
        if missing:
            features = compute_frame_features(encoder, missing, self.frame_size, progress=progress)
            cached.update(zip(missing, features))
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{os.getpid()}.{path.name}")
            keys = list(cached)
            np.savez(tmp, paths=np.asarray(keys, dtype=str), features=np.stack([cached[k] for k in keys]))
            os.replace(tmp, path)  # atomic: an interrupted write never corrupts the cache
        self.computed = len(missing)
        return {p: cached[p] for p in wanted}


def clip_arrays(rows: Sequence[Mapping], features: Mapping[str, np.ndarray], class_names: Sequence[str],
                num_frames: int) -> dict[str, np.ndarray]:
    """Per video: `num_frames` frame features sampled uniformly (zero-padded), its label and group.

    Returns {"video_ids": (V,), "features": (V, T, F), "labels": (V,), "groups": (V,)}.
    """
    index = {c: i for i, c in enumerate(class_names)}
    videos = rows_by_video(rows)
    dim = len(next(iter(features.values()))) if features else 0
    clips = np.zeros((len(videos), num_frames, dim), dtype=np.float32)
    labels, groups = [], []
    for v, frames in enumerate(videos.values()):
        picks = uniform_indices(len(frames), num_frames)
        clips[v, :len(picks)] = [features[_path(frames[i])] for i in picks]
        labels.append(index[frames[0]["label"]])
        groups.append(frames[0]["group"])
    return {"video_ids": np.asarray(list(videos)), "features": clips, "labels": np.asarray(labels, np.int32),
            "groups": np.asarray(groups)}


def frame_arrays(rows: Sequence[Mapping], features: Mapping[str, np.ndarray],
                 class_names: Sequence[str]) -> dict[str, np.ndarray]:
    """Every frame's features with its label, group and video: {"features", "labels", "groups", "video_ids"}."""
    index = {c: i for i, c in enumerate(class_names)}
    return {"features": np.stack([features[_path(r)] for r in rows]) if rows else np.zeros((0, 0), np.float32),
            "labels": np.asarray([index[r["label"]] for r in rows], np.int32),
            "groups": np.asarray([r["group"] for r in rows]), "video_ids": np.asarray([r["video_id"] for r in rows])}
