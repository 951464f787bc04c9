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


def score_sequence_head(head: keras.Model, cache: Mapping[str, np.ndarray], test_rows: Sequence[Mapping],
                        class_names: Sequence[str], seed: int = 0, out_dir=None) -> dict | None:
    """Video-level report of `head` on the test videos' cached features (None if there are none).

    With `out_dir`, the report is saved as `test_video_lstm.*`.
    """
    from toolkit.evaluation.metrics import save_report

    group_of = {r["video_id"]: r["group"] for r in test_rows}
    if not group_of:
        return None
    test = select_videos(cache, sorted(group_of))
    report = evaluate_sequence_head(head, test, class_names, [group_of[v] for v in test["video_ids"]], seed)
    if out_dir is not None:
        save_report(report, out_dir, "test_video_lstm", "test set (videos, LSTM)")
    return report


def lstm_from_cached_features(feature_extractor: keras.Model, rows: Sequence[Mapping], subsets: Sequence[str],
                              class_names: Sequence[str], config, cache_dir, out_dir=None, log_dir=None,
                              verbose: int | str = 0) -> tuple[keras.Model, dict | None, dict]:
    """Caches every video's frame features, trains the LSTM head on the split, scores its test videos.

    The head trains on the "train" videos with early stopping on "validation"
    (when there are any), with `config.lstm_units`, `config.lstm_epochs` and
    `config.seed`. Returns (head, test report or None, the feature cache).
    """
    from toolkit.data.splits import split_rows
    from toolkit.temporal.lstm import FeatureCache
    from toolkit.training.video_trainer import train_sequence_head

    cache = FeatureCache(cache_dir).get(feature_extractor, rows, class_names, config.frames_per_video,
                                        config.image_size)
    parts = split_rows(rows, subsets)
    ids = {name: sorted({r["video_id"] for r in part}) for name, part in parts.items()}
    head = train_sequence_head(select_videos(cache, ids["train"]),
                               select_videos(cache, ids["validation"]) if ids["validation"] else None,
                               len(class_names), config.lstm_units, config.lstm_epochs, seed=config.seed,
                               log_dir=log_dir, verbose=verbose)
    report = score_sequence_head(head, cache, parts["test"], class_names, config.seed, out_dir)
    return head, report, cache
