"""Training curves: loss and accuracy per epoch, from a Keras CSVLogger file."""

from __future__ import annotations

import csv
import os

import matplotlib

matplotlib.use("Agg")  # Headless: recipes run on servers without a display.
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def plot_training_curves(log_path: str | os.PathLike, path: str | os.PathLike) -> None:
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
        ax.set_xlabel("epoch")
        ax.set_title(metric)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
