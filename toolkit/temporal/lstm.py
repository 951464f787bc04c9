"""TimeDistributed frame features + LSTM: a sequence model over clips.

Two ways to train the same sequence head:

* from cached features: `extract_clip_features` runs the frame feature
  extractor once per video (stored by `FeatureCache`), then the head trains
  on `(T, F)` arrays in seconds per epoch;
* end to end: `build_lstm_video_classifier` wraps the feature extractor
  (frozen, or with its top layers trainable) and the head into one clip
  model, trainable with `model.fit` on clip batches.

Both give the same `.keras` clip model for inference, so `classify_video`
does not care how it was trained.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Mapping, Sequence

import keras
import numpy as np

from toolkit.data.pipeline import make_clip_dataset
from toolkit.temporal.layers import ApplyMask, FeatureMask, FrameMask, FramewiseApply, TemporalDelta


def build_sequence_head(num_frames: int, feature_dim: int, num_classes: int, units: int = 64,
                        dropout: float = 0.3) -> keras.Model:
    """`(B, T, F)` frame features -> class probabilities; all-zero feature rows are masked.

    Padding frames of short videos carry all-zero features (see `ApplyMask`),
    and `Masking` makes the LSTM skip them rather than read them as frames.
    """
    # === Functional Model ===
    features = keras.Input(shape=(num_frames, feature_dim), name="frame_features")
    # Normalising features per frame makes the head indifferent to the
    # backbone's feature scale (1280 EfficientNet features vs 256 CNN ones).
    x = keras.layers.LayerNormalization(name="feature_norm")(features)
    # Frame-to-frame differences make motion (and its direction and speed)
    # explicit instead of leaving the LSTM to learn to subtract.
    x = keras.layers.Concatenate(name="with_deltas")([x, TemporalDelta(name="deltas")(x)])
    x = ApplyMask(name="zero_padding")(x, frame_mask=FeatureMask(name="frame_mask")(features))
    x = keras.layers.Masking(mask_value=0.0, name="padding_mask")(x)
    # A small projection before the LSTM: with a few dozen training videos an
    # LSTM on 1280-d inputs memorises them instead of learning the motion.
    x = keras.layers.Dense(units, activation="relu", name="projection")(x)
    x = keras.layers.Dropout(dropout, name="projection_dropout")(x)
    x = keras.layers.LSTM(units, name="lstm")(x)
    x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(features, outputs, name="sequence_head")


def build_clip_feature_model(feature_extractor: keras.Model, num_frames: int, image_size: int) -> keras.Model:
    """Clip `(B, T, S, S, 3)` -> frame features `(B, T, F)`, zero for padding frames."""
    # === Functional Model ===
    clips = keras.Input(shape=(num_frames, image_size, image_size, 3), name="clip")
    mask = FrameMask(name="frame_mask")(clips)
    features = FramewiseApply(feature_extractor, name="frame_features")(clips)
    features = ApplyMask(name="zero_padding")(features, frame_mask=mask)
    return keras.Model(clips, features, name="clip_features")


def build_lstm_video_classifier(feature_extractor: keras.Model, sequence_head: keras.Model, num_frames: int,
                                image_size: int) -> keras.Model:
    """Clip `(B, T, S, S, 3)` -> probabilities: features of every frame, masked, then the head."""
    # === Functional Model ===
    clips = keras.Input(shape=(num_frames, image_size, image_size, 3), name="clip")
    features = build_clip_feature_model(feature_extractor, num_frames, image_size)(clips)
    outputs = sequence_head(features)
    return keras.Model(clips, outputs, name="lstm_video_classifier")


def compile_sequence_model(model: keras.Model, learning_rate: float = 1e-3) -> None:
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])


def extract_clip_features(feature_extractor: keras.Model, rows: Sequence[Mapping], class_names: Sequence[str],
                          num_frames: int, image_size: int, batch_size: int = 4) -> dict[str, np.ndarray]:
    """Features of every video's clip, computed once.

    Returns a dict of arrays: `video_ids (V,)`, `features (V, T, F)` with
    zeros for padding frames, `labels (V,)`.
    """
    from toolkit.data.pipeline import clip_paths

    video_ids, _, _, labels = clip_paths(rows, num_frames)
    dataset = make_clip_dataset(rows, class_names, num_frames, image_size, batch_size)
    clip_features = build_clip_feature_model(feature_extractor, num_frames, image_size)
    features = clip_features.predict(dataset.map(lambda clips, y: clips), verbose=0)
    index = {c: i for i, c in enumerate(class_names)}
    return {"video_ids": np.array(video_ids), "features": features.astype(np.float32),
            "labels": np.array([index[label] for label in labels], dtype=np.int32)}


def model_fingerprint(model: keras.Model) -> str:
    """A short hash of a model's weights: cached features are valid for these weights only."""
    digest = hashlib.sha1()
    for weight in model.weights:
        value = np.asarray(weight)
        digest.update(str(value.shape).encode())
        digest.update(value.tobytes())
    return digest.hexdigest()[:16]


class FeatureCache:
    """Per-video clip features on disk, keyed by model weights and clip geometry.

    `<cache_dir>/<fingerprint>_T<frames>_S<size>.npz` holds one `(T, F)` array
    per video id; videos not yet cached are computed and added, so a second
    call for the same model costs a file read.
    """

    def __init__(self, cache_dir: str | os.PathLike):
        self.cache_dir = Path(cache_dir)

    def get(self, feature_extractor: keras.Model, rows: Sequence[Mapping], class_names: Sequence[str],
            num_frames: int, image_size: int, batch_size: int = 4) -> dict[str, np.ndarray]:
        """Like `extract_clip_features`, reading and extending the cache."""
        from toolkit.data.manifest import rows_by_video

        self.cache_dir.mkdir(parents=True, exist_ok=True)
        path = self.cache_dir / f"{model_fingerprint(feature_extractor)}_T{num_frames}_S{image_size}.npz"
        cached: dict[str, np.ndarray] = {}
        if path.is_file():
            with np.load(path, allow_pickle=False) as data:
                cached = {key: data[key] for key in data.files}
        videos = rows_by_video(rows)
        missing = [key for key in videos if _key(key) not in cached]
        if missing:
            wanted = [r for key in missing for r in videos[key]]
            fresh = extract_clip_features(feature_extractor, wanted, class_names, num_frames, image_size, batch_size)
            for video_id, feats in zip(fresh["video_ids"], fresh["features"]):
                cached[_key(video_id)] = feats
            tmp = path.with_suffix(".tmp.npz")
            np.savez(tmp, **cached)
            os.replace(tmp, path)
        index = {c: i for i, c in enumerate(class_names)}
        ids = list(videos)
        return {"video_ids": np.array(ids), "features": np.stack([cached[_key(v)] for v in ids]),
                "labels": np.array([index[videos[v][0]["label"]] for v in ids], dtype=np.int32),
                "cache_file": str(path), "computed": len(missing)}


def _key(video_id: str) -> str:
    # npz keys must be plain names; video ids hold slashes.
    return video_id.replace("/", "__")
