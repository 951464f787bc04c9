"""PNG plots of evaluations: confusion matrices, cross-validation spread with chance levels, repetitions."""

from __future__ import annotations

import os
from typing import Sequence

import matplotlib

matplotlib.use("Agg")  # Headless: recipes run on servers without a display.
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from workout_runtime.repetitions import RepetitionCount  # noqa: E402


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


def plot_cross_validation(summary: Sequence[dict], per_repeat: Sequence[Sequence[dict]], path: str | os.PathLike,
                          title: str, metric: str = "accuracy") -> None:
    """Mean per aggregator with its spread over folds (error bars, and each fold as a dot) and chance lines."""
    names = [row["aggregator"] for row in summary]
    means = [row[f"{metric}_mean"] for row in summary]
    stds = [row[f"{metric}_std"] for row in summary]
    fig, ax = plt.subplots(figsize=(max(5.0, 0.9 * len(names) + 2), 4))
    positions = np.arange(len(names))
    ax.bar(positions, means, yerr=stds, capsize=4, color="#4c72b0", alpha=0.8, label="mean ± std over folds")
    rng = np.random.default_rng(0)
    folds = [fold for repeat in per_repeat for fold in repeat]
    for x, name in zip(positions, names):
        values = [fold[name][metric] for fold in folds]
        ax.scatter(x + rng.uniform(-0.15, 0.15, len(values)), values, s=12, color="black", zorder=3,
                   label="one fold" if x == 0 else None)
    uniform = float(np.mean([row["chance_uniform"] for row in summary]))
    majority = float(np.mean([row["chance_majority"] for row in summary]))
    ax.axhline(uniform, color="#c44e52", linestyle="--", label=f"chance, uniform guess ({uniform:.2f})")
    ax.axhline(majority, color="#dd8452", linestyle=":", label=f"chance, most frequent class ({majority:.2f})")
    ax.set_xticks(positions, names, rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(metric.replace("_", " "))
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_repetitions(result: RepetitionCount, path: str | os.PathLike, title: str = "") -> None:
    """The signal with each repetition shaded and its turning point marked (PNG)."""
    fig, ax = plt.subplots(figsize=(9, 3.2))
    if len(result.values):
        ax.plot(result.times_s[:len(result.values)], result.values, color="#4c72b0", label=result.signal)
    for k, rep in enumerate(result.repetitions, start=1):
        ax.axvspan(rep.start_s, rep.end_s, color="#55a868", alpha=0.15)
        ax.axvline(rep.turn_s, color="#c44e52", linestyle=":", linewidth=1)
        ax.text((rep.start_s + rep.end_s) / 2, ax.get_ylim()[1], str(k), ha="center", va="top", fontsize=8)
    ax.set_xlabel("seconds")
    ax.set_title(title or f"{result.count} repetitions" + (f" ({result.reason})" if result.reason else ""))
    if result.signal:
        ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
