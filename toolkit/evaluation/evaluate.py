"""Evaluating a frame classifier at frame level and, by vote pooling, at video level."""

from __future__ import annotations

import os
from typing import Mapping, Sequence

import keras
import numpy as np

from toolkit.evaluation.metrics import classification_report, format_report, save_report
from toolkit.temporal.layers import VotePooling
from toolkit.training.frame_trainer import predict_rows


def pool_by_video(probabilities: np.ndarray, video_ids: Sequence[str], method: str) -> tuple[list[str], np.ndarray]:
    """Pools frame probabilities `(N, K)` per video with `VotePooling(method)`.

    Returns (video ids in first-seen order, `(V, K)` pooled probabilities).
    """
    order: dict[str, list[int]] = {}
    for i, video_id in enumerate(video_ids):
        order.setdefault(video_id, []).append(i)
    ids = list(order)
    longest = max(len(v) for v in order.values())
    stacked = np.zeros((len(ids), longest, probabilities.shape[1]), dtype=np.float32)
    mask = np.zeros((len(ids), longest), dtype=bool)
    for row, video_id in enumerate(ids):
        picks = order[video_id]
        stacked[row, :len(picks)] = probabilities[picks]
        mask[row, :len(picks)] = True
    pooled = VotePooling(method)(stacked, frame_mask=mask)
    return ids, np.asarray(keras.ops.convert_to_numpy(pooled))


def evaluate_frame_classifier(model: keras.Model, rows: Sequence[Mapping], class_names: Sequence[str],
                              image_size: int, batch_size: int = 32,
                              methods: Sequence[str] = VotePooling.METHODS, seed: int = 0,
                              out_dir: str | os.PathLike | None = None, prefix: str = "test") -> dict:
    """Reports at frame level and at video level for each vote method.

    Confidence intervals resample whole groups. With `out_dir`, each report
    is saved as JSON, text and a confusion-matrix PNG.

    Returns:
        {"frame": report, "video_<method>": report, ...}
    """
    predictions = predict_rows(model, rows, class_names, image_size, batch_size)
    groups = [r["group"] for r in rows]
    reports = {"frame": classification_report(predictions.labels, predictions.probabilities.argmax(1),
                                              class_names, groups, seed)}
    group_of = {r["video_id"]: r["group"] for r in rows}
    label_of = {r["video_id"]: predictions.labels[i] for i, r in enumerate(rows)}
    for method in methods:
        ids, pooled = pool_by_video(predictions.probabilities, [r["video_id"] for r in rows], method)
        reports[f"video_{method}"] = classification_report(
            [label_of[v] for v in ids], pooled.argmax(1), class_names, [group_of[v] for v in ids], seed)
    if out_dir is not None:
        for name, report in reports.items():
            level = "frames" if name == "frame" else f"videos, {name[6:]} vote"
            save_report(report, out_dir, f"{prefix}_{name}", f"{prefix} set ({level})")
    return reports


def summarise(reports: dict, prefix: str = "test") -> str:
    return "\n".join(format_report(r, f"{prefix} {name.replace('_', ' ')}") for name, r in reports.items())

