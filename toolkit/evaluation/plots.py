"""PNG plots: confusion matrices, training curves, dataset summaries."""

from __future__ import annotations

import csv
import os
from typing import Sequence

import matplotlib

matplotlib.use("Agg")  # Headless: recipes run on servers without a display.
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def plot_confusion_matrix(matrix: np.ndarray, class_names: Sequence[str], path: str | os.PathLike,
                          title: str = "Confusion matrix") -> None:
    """Row-normalised colours with raw counts written in each cell."""
    matrix = np.asarray(matrix)
    rows = matrix.sum(axis=1, keepdims=True)
    normalised = np.divide(matrix, rows, out=np.zeros_like(matrix, dtype=float), where=rows > 0)
    size = max(4.0, 0.7 * len(class_names) + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
    ax.set_yticks(range(len(class_names)), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center",
                    color="white" if normalised[i, j] > 0.5 else "black", fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.046, label="share of true class")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_training_curves(log_path: str | os.PathLike, path: str | os.PathLike,
                         stage_boundaries: Sequence[int] = ()) -> None:
    """Loss and accuracy per epoch from a Keras CSVLogger file."""
    with open(log_path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return
    epochs = np.arange(1, len(rows) + 1)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, metric in zip(axes, ("loss", "accuracy")):
        for prefix, style in (("", "-"), ("val_", "--")):
            key = prefix + metric
            if key in rows[0]:
                values = [float(r[key]) if r[key] not in ("", "NA") else np.nan for r in rows]
                ax.plot(epochs, values, style, label=key.replace("_", " "))
        for boundary in stage_boundaries:
            ax.axvline(boundary + 0.5, color="grey", linestyle=":", label="fine-tuning starts")
        ax.set_xlabel("epoch")
        ax.set_title(metric)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_bars(values: dict[str, float], path: str | os.PathLike, title: str, ylabel: str) -> None:
    fig, ax = plt.subplots(figsize=(max(4, 0.6 * len(values) + 2), 3.5))
    ax.bar(list(values), list(values.values()), color="#4c72b0")
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.tick_params(axis="x", rotation=45)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_histogram(values: Sequence[float], path: str | os.PathLike, title: str, xlabel: str) -> None:
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.hist(values, bins=min(30, max(5, len(values) // 3)), color="#55a868")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("videos")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
