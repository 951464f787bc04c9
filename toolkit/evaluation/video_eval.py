"""Video-level evaluation of sequence models on cached clip features."""

from __future__ import annotations

from typing import Mapping, Sequence

import keras
import numpy as np

from toolkit.evaluation.metrics import classification_report


def evaluate_sequence_head(head: keras.Model, data: Mapping[str, np.ndarray], class_names: Sequence[str],
                           groups: Sequence[str], seed: int = 0) -> dict:
    """Report of an LSTM head on cached `(V, T, F)` features (one sample per video)."""
    probabilities = head.predict(data["features"], verbose=0)
    return classification_report(data["labels"], probabilities.argmax(1), class_names, groups, seed)


def select_videos(data: Mapping[str, np.ndarray], video_ids: Sequence[str]) -> dict[str, np.ndarray]:
    """The cached-feature entries of `video_ids`, in that order."""
    index = {v: i for i, v in enumerate(data["video_ids"])}
    picks = np.array([index[v] for v in video_ids], dtype=np.int64)
    return {"video_ids": data["video_ids"][picks], "features": data["features"][picks],
            "labels": data["labels"][picks]}
