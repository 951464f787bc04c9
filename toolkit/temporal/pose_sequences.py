"""Pose sequences per video: MoveNet keypoints of extracted frames, cached like CNN features."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

import cv2
import numpy as np

from toolkit.data.manifest import rows_by_video
from toolkit.models.pose import MoveNet
from toolkit.models.pose_classifier import build_pose_frame_classifier
from toolkit.models.pose_features import FEATURES_PER_FRAME, pose_features, sample_uniform


def _key(video_id: str) -> str:
    return video_id.replace("/", "__")


def extract_pose_sequences(encoder: MoveNet, rows: Sequence[Mapping], cache_dir: str | os.PathLike,
                           progress: bool = True) -> dict[str, np.ndarray]:
    """Keypoints `(frames, 17, 3)` per video_id for the frames of a manifest.

    Results are stored in `<cache_dir>/<encoder name>.npz` and only videos
    not yet cached are run through the encoder.
    """
    from tqdm.auto import tqdm

    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"{encoder.name}.npz"
    cached: dict[str, np.ndarray] = {}
    if path.is_file():
        with np.load(path) as data:
            cached = {k: data[k] for k in data.files}
    videos = rows_by_video(rows)
    missing = [v for v in videos if _key(v) not in cached]
    for video_id in tqdm(missing, desc=f"pose ({encoder.name})", unit="video", disable=not progress):
        frames = [cv2.cvtColor(cv2.imread(r.get("abs_path", r["path"])), cv2.COLOR_BGR2RGB) for r in videos[video_id]]
        cached[_key(video_id)] = np.concatenate([encoder(f[None]) for f in frames])
    if missing:
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, **cached)
        os.replace(tmp, path)
    return {v: cached[_key(v)] for v in videos}


def pose_feature_arrays(sequences: Mapping[str, np.ndarray], video_ids: Sequence[str], labels: Sequence[int],
                        num_frames: int, mirror_invariant: bool = True) -> dict[str, np.ndarray]:
    """`{"features": (V, T, 96), "labels": (V,), "video_ids": (V,)}` for the sequence head."""
    features = np.zeros((len(video_ids), num_frames, FEATURES_PER_FRAME), dtype=np.float32)
    for i, video_id in enumerate(video_ids):
        features[i] = sample_uniform(pose_features(sequences[video_id], mirror_invariant=mirror_invariant),
                                     num_frames)
    return {"features": features, "labels": np.asarray(labels, dtype=np.int32), "video_ids": np.asarray(video_ids)}


def frame_vote_probabilities(train_features: np.ndarray, train_labels: np.ndarray, test_features: np.ndarray,
                             num_classes: int, hidden: int = 64, dropout: float = 0.0, batch_size: int = 64,
                             epochs: int = 40, class_weight: dict[int, float] | None = None,
                             seed: int = 0) -> np.ndarray:
    """The voting baseline over sequence features: a per-frame MLP, mean probability per sequence.

    Trains on every non-padding frame of `train_features (V, T, F)` labelled with
    its sequence's label, then averages the frame probabilities of each test
    sequence over its non-padding frames. Returns `(V_test, K)` probabilities.
    """
    import keras

    keras.utils.set_random_seed(seed)
    mask = np.abs(train_features).sum(-1) > 0
    x = train_features[mask]
    y = np.repeat(train_labels, train_features.shape[1]).reshape(mask.shape)[mask]
    model = build_pose_frame_classifier(num_classes, x.shape[-1], hidden, dropout)
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0, class_weight=class_weight)
    probabilities = model.predict(test_features.reshape(-1, x.shape[-1]), verbose=0)
    probabilities = probabilities.reshape(*test_features.shape[:2], num_classes)
    test_mask = (np.abs(test_features).sum(-1) > 0)[..., None]
    return (probabilities * test_mask).sum(1) / np.maximum(test_mask.sum(1), 1)
