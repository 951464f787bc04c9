"""Leakage-free splits: every group (video, performer, source) lands on one side.

Splits are made on groups before anything else touches the data, stratified
by label as far as the groups allow (scikit-learn's StratifiedGroupKFold),
saved beside the run, and checked: `check_no_leakage` fails loudly if a group
or a video appears on two sides.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import warnings
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from toolkit.errors import DatasetError, UserError

SUBSETS = ("train", "validation", "test")
SPLIT_FILE = "split.csv"


class LeakageError(UserError, RuntimeError):
    """A group, video or near-duplicate appears on two sides of a split."""


def groups_per_class(labels: Sequence[str], groups: Sequence[str]) -> dict[str, int]:
    """Number of distinct groups holding each class."""
    seen: dict[str, set] = {}
    for label, group in zip(labels, groups):
        seen.setdefault(label, set()).add(group)
    return {str(label): len(g) for label, g in sorted(seen.items())}


def _check_group_counts(labels, groups, needed: int, what: str) -> None:
    counts = groups_per_class(labels, groups)
    single = {k: v for k, v in counts.items() if v < 2}
    if single:
        raise DatasetError(
            f"Cannot make a grouped {what}: classes {single} have fewer than 2 groups, so they cannot be "
            f"on both the training and the evaluation side without leaking. Add videos from other "
            f"people or sources for these classes, or drop them.")
    few = {k: v for k, v in counts.items() if v < needed}
    if few:
        warnings.warn(f"Grouped {what}: classes {few} (class: groups) have fewer than {needed} groups, so "
                      f"some subsets or folds will miss them; their scores rest on very few sources.",
                      stacklevel=3)


def _one_fold(labels: np.ndarray, groups: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Boolean mask of a held-out part of about `fraction`, by group."""
    n_splits = max(2, int(round(1.0 / fraction)))
    # scikit-learn refuses more folds than the largest class has members; a
    # tiny dataset then gets a larger held-out share rather than an error.
    _, class_sizes = np.unique(labels, return_counts=True)
    n_splits = max(2, min(n_splits, len(np.unique(groups)), int(class_sizes.max())))
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        # scikit-learn warns when a class has fewer groups than folds; we warn ourselves.
        warnings.simplefilter("ignore", UserWarning)
        _, held_out = next(splitter.split(np.zeros(len(labels)), labels, groups))
    mask = np.zeros(len(labels), dtype=bool)
    mask[held_out] = True
    return mask


def grouped_split(labels: Sequence[str], groups: Sequence[str], validation_fraction: float = 0.15,
                  test_fraction: float = 0.2, seed: int = 42) -> np.ndarray:
    """Assigns each item to "train", "validation" or "test", keeping groups whole.

    Args:
        labels, groups: one entry per item (a frame or a video).
        validation_fraction, test_fraction: approximate shares of items; 0
            leaves that subset empty.
        seed: the split is a deterministic function of it.

    Returns:
        `(N,)` array of subset names.
    """
    labels, groups = np.asarray(labels), np.asarray(groups)
    needed = 1 + (validation_fraction > 0) + (test_fraction > 0)
    _check_group_counts(labels, groups, needed, "train/validation/test split")
    subsets = np.full(len(labels), "train", dtype=object)
    if test_fraction > 0:
        subsets[_one_fold(labels, groups, test_fraction, seed)] = "test"
    if validation_fraction > 0:
        rest = subsets == "train"
        share = validation_fraction / (1.0 - test_fraction)
        if len(np.unique(groups[rest])) >= 2:
            val = _one_fold(labels[rest], groups[rest], share, seed + 1)
            subsets[np.flatnonzero(rest)[val]] = "validation"
    check_no_leakage(groups, subsets)
    return subsets.astype(str)


def grouped_kfold(labels: Sequence[str], groups: Sequence[str], folds: int = 5, seed: int = 42,
                  validation_fraction: float = 0.15) -> list[np.ndarray]:
    """Stratified group k-fold; each fold's subsets as an array like `grouped_split`'s.

    In fold k the k-th group fold is "test"; a grouped share of the rest is
    "validation" (for early stopping) and the remainder "train".
    """
    labels, groups = np.asarray(labels), np.asarray(groups)
    check_folds(labels, groups, folds)
    _check_group_counts(labels, groups, folds, f"{folds}-fold cross-validation")
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    result = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        splits = list(splitter.split(np.zeros(len(labels)), labels, groups))
    for k, (_, test_idx) in enumerate(splits):
        subsets = np.full(len(labels), "train", dtype=object)
        subsets[test_idx] = "test"
        rest = subsets == "train"
        if validation_fraction > 0 and len(np.unique(groups[rest])) >= 2:
            val = _one_fold(labels[rest], groups[rest], validation_fraction, seed + 1 + k)
            subsets[np.flatnonzero(rest)[val]] = "validation"
        check_no_leakage(groups, subsets)
        result.append(subsets.astype(str))
    return result


def check_folds(labels: Sequence[str], groups: Sequence[str], folds: int) -> None:
    """Raises `DatasetError`, saying what `folds` can be, if grouped k-fold cannot make that many folds.

    Each fold's test side needs groups of its own, and at least one class must
    spread over every fold: so folds can be at most the number of groups of
    the class with the most groups.
    """
    counts = groups_per_class(labels, groups)
    most = max(counts.values()) if counts else 0
    if not isinstance(folds, (int, np.integer)) or folds < 2 or folds > most:
        richest = max(counts, key=counts.get) if counts else "-"
        raise DatasetError(
            f"Cannot make {folds} grouped folds. Received: folds={folds!r}; expected 2 to {most}: the class with the "
            f"most groups ({richest}) has {most}, and every fold's test side needs groups of its own (groups per "
            f"class: {counts}). Use --folds {min(max(2, most), 5)} or fewer, or add videos from more sources.")


def check_no_leakage(groups: Sequence[str], subsets: Sequence[str], video_ids: Sequence[str] | None = None,
                     hashes: np.ndarray | None = None, max_distance: int = 0) -> None:
    """Raises `LeakageError` if any group, video or near-duplicate sits on two sides.

    Args:
        groups, subsets: one entry per item.
        video_ids: optional, checked the same way as groups.
        hashes: optional uint64 perceptual hashes; pairs across subsets within
            `max_distance` bits are leaks.
    """
    subsets = np.asarray(subsets)
    for name, keys in (("group", groups), ("video", video_ids)):
        if keys is None:
            continue
        sides: dict[str, set] = {}
        for key, subset in zip(keys, subsets):
            sides.setdefault(key, set()).add(subset)
        leaks = {k: sorted(v) for k, v in sides.items() if len(v) > 1}
        if leaks:
            example = next(iter(leaks.items()))
            raise LeakageError(f"Split leaks: {len(leaks)} {name}(s) appear on several sides, e.g. "
                               f"{name} {example[0]!r} in {example[1]}. Rebuild the split by group.")
    if hashes is not None:
        from toolkit.data.images import hamming_distances

        hashes = np.asarray(hashes, dtype=np.uint64)
        names = sorted(set(subsets))
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                ha, hb = hashes[subsets == a], hashes[subsets == b]
                if len(ha) and len(hb) and (hamming_distances(ha, hb) <= max_distance).any():
                    raise LeakageError(f"Split leaks: near-duplicate images (pHash distance <= {max_distance}) "
                                       f"appear in both {a!r} and {b!r}. Group by near-duplicates first.")


# Frames this close (pHash bits) across a split are the same picture: a copy, or
# two clips cut from one recording. On workout4, grouped by hand, no held-out
# clip has a training frame within 8 bits; grouped per clip, 25-44 % of held-out
# clips share an identical frame (benchmarks: README "leakage audit").
AUDIT_DISTANCE = 2


@dataclasses.dataclass
class PixelAudit:
    """Near-identical frames on both sides of a split.

    Attributes:
        held_out_videos: videos (or images) on the held-out side.
        leaking_videos: those with a frame within `max_distance` bits of a training frame.
        pairs: (held-out frame, training frame, distance) examples, closest first.
        max_distance: the pHash distance that counts as near-identical.
        unit: what a held-out item is, "videos" or "images", for the messages.
    """

    held_out_videos: int
    leaking_videos: list[str]
    pairs: list[tuple[str, str, int]]
    max_distance: int
    unit: str = "videos"

    @property
    def share(self) -> float:
        return len(self.leaking_videos) / self.held_out_videos if self.held_out_videos else 0.0

    def describe(self) -> str:
        if not self.leaking_videos:
            return (f"pixel audit: no held-out frame is within {self.max_distance} pHash bits of a training frame "
                    f"({self.held_out_videos} held-out {self.unit})")
        examples = "; ".join(f"{a} ~ {b} ({d} bits)" for a, b, d in self.pairs[:3])
        return (f"pixel audit: {len(self.leaking_videos)} of {self.held_out_videos} held-out {self.unit} "
                f"({self.share:.0%}) have a frame within {self.max_distance} pHash bits of a training frame, e.g. "
                f"{examples}")


def audit_pixels(rows: Sequence[Mapping], subsets: Sequence[str], held_out: str = "test",
                 max_distance: int = AUDIT_DISTANCE) -> PixelAudit:
    """Compares perceptual hashes of the held-out side's frames with the training side's (train and validation).

    Uses the manifest's `phash` column, hashing the files of rows without one.
    """
    from toolkit.data.images import hamming_distances, hash_file

    subsets = np.asarray(subsets)
    out = subsets == held_out
    inside = ~out
    # A folder of still images has one row per item; videos have several frames each.
    unit = "images" if len({r["video_id"] for r in rows}) == len(rows) else "videos"
    if not out.any() or not inside.any():
        return PixelAudit(len({r["video_id"] for r, o in zip(rows, out) if o}), [], [], max_distance, unit)
    hashes = np.array([int(r["phash"], 16) if r.get("phash") else int(hash_file(r.get("abs_path", r["path"])) or 0)
                       for r in rows], dtype=np.uint64)
    held, trained = np.flatnonzero(out), np.flatnonzero(inside)
    pairs = []
    for start in range(0, len(held), 1024):  # bounded memory: 1024 x N distances at a time
        block = held[start:start + 1024]
        distances = hamming_distances(hashes[block], hashes[trained])
        nearest = distances.argmin(axis=1)
        for k, (i, j) in enumerate(zip(block, nearest)):
            if distances[k, j] <= max_distance:
                pairs.append((rows[i]["path"], rows[trained[j]]["path"], int(distances[k, j])))
    pairs.sort(key=lambda p: p[2])
    path_to_video = {r["path"]: r["video_id"] for r in rows}
    leaking = sorted({path_to_video[a] for a, _, _ in pairs})
    return PixelAudit(len({rows[i]["video_id"] for i in held}), leaking, pairs, max_distance, unit)


def save_split(path: str | os.PathLike, rows: Sequence[Mapping], subsets: Sequence[str]) -> Path:
    """Saves the split as CSV (video_id, group, label, subset), one row per video.

    A leaky frame-level split (videos on several sides) is saved per frame,
    with a `path` column, so that it too can be audited and reloaded.
    """
    path = Path(path)
    if path.is_dir():
        path = path / SPLIT_FILE
    sides: dict[str, set] = {}
    for row, subset in zip(rows, subsets):
        sides.setdefault(row["video_id"], set()).add(subset)
    per_frame = any(len(s) > 1 for s in sides.values())
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        if per_frame:
            writer.writerow(["path", "video_id", "group", "label", "subset"])
            for row, subset in zip(rows, subsets):
                writer.writerow([row["path"], row["video_id"], row["group"], row["label"], subset])
        else:
            writer.writerow(["video_id", "group", "label", "subset"])
            per_video = {}
            for row, subset in zip(rows, subsets):
                per_video.setdefault(row["video_id"], (row["group"], row["label"], subset))
            for video_id, (group, label, subset) in sorted(per_video.items()):
                writer.writerow([video_id, group, label, subset])
    return path


def load_split(path: str | os.PathLike, rows: Sequence[Mapping]) -> np.ndarray:
    """Subsets for `rows` from a saved split; fails if a video is missing from it.

    A per-video split is checked for leakage on loading; a per-frame (leaky)
    split is returned as saved.
    """
    path = Path(path)
    if path.is_dir():
        path = path / SPLIT_FILE
    with open(path, newline="") as f:
        saved = list(csv.DictReader(f))
    key = "path" if saved and "path" in saved[0] else "video_id"
    table = {r[key]: r["subset"] for r in saved}
    missing = sorted({r[key] for r in rows if r[key] not in table})
    if missing:
        raise DatasetError(f"Split '{path}' does not cover {len(missing)} {key}s of the manifest, e.g. "
                           f"{missing[:3]}. Make a fresh split for this manifest.")
    subsets = np.array([table[r[key]] for r in rows])
    if key == "video_id":
        check_no_leakage([r["group"] for r in rows], subsets, [r["video_id"] for r in rows])
    return subsets


def split_rows(rows: Sequence[Mapping], subsets: Sequence[str]) -> dict[str, list]:
    """Rows per subset name."""
    out = {name: [] for name in SUBSETS}
    for row, subset in zip(rows, subsets):
        out.setdefault(subset, []).append(row)
    return out


def _videos(rows: Sequence[Mapping]) -> tuple[list[str], np.ndarray, np.ndarray]:
    first = {}
    for row in rows:
        first.setdefault(row["video_id"], row)
    ids = list(first)
    return ids, np.array([first[v]["label"] for v in ids]), np.array([first[v]["group"] for v in ids])


def split_manifest(rows: Sequence[Mapping], validation_fraction: float = 0.15, test_fraction: float = 0.2,
                   seed: int = 42) -> np.ndarray:
    """`grouped_split` made over videos (so strata count videos, not frames), per row."""
    ids, labels, groups = _videos(rows)
    per_video = dict(zip(ids, grouped_split(labels, groups, validation_fraction, test_fraction, seed)))
    subsets = np.array([per_video[r["video_id"]] for r in rows])
    check_no_leakage([r["group"] for r in rows], subsets, [r["video_id"] for r in rows])
    return subsets


def kfold_manifest(rows: Sequence[Mapping], folds: int = 5, seed: int = 42,
                   validation_fraction: float = 0.15) -> list[np.ndarray]:
    """`grouped_kfold` made over videos, each fold's subsets per row."""
    ids, labels, groups = _videos(rows)
    result = []
    for fold in grouped_kfold(labels, groups, folds, seed, validation_fraction):
        per_video = dict(zip(ids, fold))
        result.append(np.array([per_video[r["video_id"]] for r in rows]))
    return result
