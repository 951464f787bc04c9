"""Penn Action annotations (Zhang, Zhu, Derpanis, ICCV 2013) as MoveNet-layout keypoints.

Each `labels/NNNN.mat` holds the action, 13 hand-labelled joints per frame
(x, y in pixels, visibility), the image size and the official split (train
1, test -1). Penn's 13 joints map onto COCO's 17 (MoveNet's layout); eyes and
ears, which Penn does not label, get score 0; occluded joints, which Penn
still places, get 0.5.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

# Penn order: head, l/r shoulder, l/r elbow, l/r wrist, l/r hip, l/r knee, l/r ankle.
PENN_TO_COCO = (0, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)
EXERCISE_ACTIONS = ("bench_press", "clean_and_jerk", "jump_rope", "jumping_jacks", "pullup", "pushup", "situp",
                    "squat")


def load_sequence(path: str | os.PathLike) -> dict:
    """One annotation file -> {action, keypoints (T, 17, 3) as (y, x, score) in [0, 1], train}."""
    from scipy.io import loadmat

    data = loadmat(str(path))
    height, width = (float(v) for v in np.ravel(data["dimensions"])[:2])
    x, y = np.asarray(data["x"], dtype=np.float32), np.asarray(data["y"], dtype=np.float32)
    visible = np.asarray(data["visibility"], dtype=np.float32)
    keypoints = np.zeros((len(x), 17, 3), dtype=np.float32)
    keypoints[:, PENN_TO_COCO, 0] = y / height
    keypoints[:, PENN_TO_COCO, 1] = x / width
    # Occluded joints are still hand-placed (visibility 0): keep them with a
    # lower score that stays above the feature masking threshold.
    keypoints[:, PENN_TO_COCO, 2] = np.maximum(visible, 0.5)
    return {"action": str(np.ravel(data["action"])[0]), "keypoints": keypoints,
            "train": int(np.ravel(data["train"])[0]) == 1}


def load_penn_action(root: str | os.PathLike) -> list[dict]:
    """Every sequence listed in `<root>/manifest.csv`, with its id and official split."""
    root = Path(root)
    with open(root / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    sequences = []
    for row in rows:
        sequence = load_sequence(root / row["path"])
        sequence["id"] = row["group"]
        sequences.append(sequence)
    return sequences
