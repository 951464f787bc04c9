"""Image folders as frame manifests, and groups inferred from near-duplicates.

Image datasets scraped from videos hold many near-identical frames; when
nothing records where an image came from, we cluster images whose perceptual
hashes lie within a small Hamming distance and use the cluster as the group,
so near-identical images never straddle a split.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from toolkit.data.manifest import group_from_pattern, read_group_table

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
# 64-bit pHash: identical scenes differ by a few bits, unrelated images by ~32.
DEFAULT_MAX_DISTANCE = 10


def perceptual_hash(image: np.ndarray) -> np.uint64:
    """64-bit DCT perceptual hash (pHash) of an RGB or grayscale uint8 image."""
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    small = cv2.resize(gray, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    low = cv2.dct(small)[:8, :8].flatten()
    # The DC term only measures brightness; the median of the rest splits bits evenly.
    bits = low > np.median(low[1:])
    return np.uint64(int("".join("1" if b else "0" for b in bits), 2))


def hash_file(path: str | os.PathLike) -> np.uint64 | None:
    """pHash of an image file, or None if it cannot be read."""
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    return None if image is None else perceptual_hash(image)


def hamming_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise Hamming distances `(len(a), len(b))` between uint64 hashes."""
    return np.bitwise_count(np.bitwise_xor(a[:, None], b[None, :])).astype(np.int32)


class _UnionFind:
    def __init__(self, n: int):
        self.parent = np.arange(n)

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return int(i)

    def union(self, i: int, j: int) -> None:
        ri, rj = self.find(i), self.find(j)
        if ri != rj:
            self.parent[max(ri, rj)] = min(ri, rj)


def cluster_near_duplicates(hashes: np.ndarray, max_distance: int = DEFAULT_MAX_DISTANCE,
                            owners: Sequence[int] | None = None, chunk: int = 2048) -> np.ndarray:
    """Cluster ids: items within `max_distance` bits are joined (transitively).

    Args:
        hashes: `(N,)` uint64 perceptual hashes.
        max_distance: largest Hamming distance that still counts as a duplicate.
        owners: optional `(N,)` ids (e.g. the video of each frame); clusters
            are then formed over owners, so two videos sharing any
            near-duplicate frame join one group.
        chunk: rows compared at once, bounding memory to `chunk * N` distances.

    Returns:
        `(N,)` int cluster id per item (per owner's item when `owners` given),
        numbered 0.. in order of first appearance.
    """
    hashes = np.asarray(hashes, dtype=np.uint64)
    owner_ids = np.arange(len(hashes)) if owners is None else np.asarray(owners)
    unique_owners, owner_index = np.unique(owner_ids, return_inverse=True)
    sets = _UnionFind(len(unique_owners))
    for start in range(0, len(hashes), chunk):
        block = hamming_distances(hashes[start:start + chunk], hashes)
        rows, cols = np.nonzero(block <= max_distance)
        for r, c in zip(rows + start, cols):
            if r < c:
                sets.union(owner_index[r], owner_index[c])
    roots = np.array([sets.find(owner_index[i]) for i in range(len(hashes))])
    _, first = np.unique(roots, return_index=True)
    renumber = {root: k for k, root in enumerate(roots[np.sort(first)])}
    return np.array([renumber[r] for r in roots], dtype=np.int64)


def load_image_folder(image_dir: str | os.PathLike, *, group_pattern: str | None = None,
                      group_csv: str | os.PathLike | None = None,
                      near_duplicate_distance: int | None = DEFAULT_MAX_DISTANCE) -> tuple[list[dict], str]:
    """Reads `<image_dir>/<class>/*.jpg|png` into frame-manifest rows.

    The group comes from `group_csv`, else `group_pattern` on the file name,
    else near-duplicate clustering of perceptual hashes (when
    `near_duplicate_distance` is not None), else each image is its own group.
    Unreadable images are left out and reported in the returned description.

    Returns:
        (rows, description): rows with path (absolute), label, video_id
        (= `<class>/<stem>`), group, frame_index 0, timestamp_s 0, phash.
    """
    root = Path(image_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"Image folder not found: '{root}'; expected {root}/<class>/<image>.jpg.")
    rows, unreadable = [], []
    for class_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for path in sorted(class_dir.iterdir()):
            if path.suffix.lower() not in IMAGE_EXTENSIONS:
                continue
            h = hash_file(path)
            if h is None:
                unreadable.append(str(path))
                continue
            rows.append({"path": str(path.resolve()), "label": class_dir.name,
                         "video_id": f"{class_dir.name}/{path.stem}", "group": "",
                         "frame_index": 0, "timestamp_s": 0.0, "phash": f"{int(h):016x}"})
    if not rows:
        raise ValueError(f"No readable images in class folders of '{root}'; expected "
                         f"{root}/<class>/<image> with extensions {', '.join(IMAGE_EXTENSIONS)}.")
    if group_csv is not None:
        table = read_group_table(group_csv)
        for row in rows:
            row["group"] = table.get(row["video_id"]) or table.get(Path(row["path"]).stem) or row["video_id"]
        source = f"group table {group_csv}"
    elif group_pattern is not None:
        for row in rows:
            row["group"] = group_from_pattern(Path(row["path"]).name, group_pattern) or row["video_id"]
        source = f"file-name pattern {group_pattern!r}"
    elif near_duplicate_distance is not None:
        hashes = np.array([int(r["phash"], 16) for r in rows], dtype=np.uint64)
        clusters = cluster_near_duplicates(hashes, near_duplicate_distance)
        for row, cluster in zip(rows, clusters):
            row["group"] = f"near_duplicate_{cluster:05d}"
        source = f"near-duplicate clusters (pHash distance <= {near_duplicate_distance})"
    else:
        for row in rows:
            row["group"] = row["video_id"]
        source = "one group per image"
    if unreadable:
        source += f"; {len(unreadable)} unreadable images skipped: {', '.join(unreadable[:5])}"
    return rows, source


def infer_video_groups(rows: Sequence[dict], max_distance: int = DEFAULT_MAX_DISTANCE,
                       progress: bool = False) -> dict[str, str]:
    """Groups videos whose extracted frames are near-duplicates of each other.

    Clips cut from one recording share scenes (same room, person and camera),
    so any pair of frames within `max_distance` pHash bits joins their videos
    into one group. Returns {video_id: group}.
    """
    from tqdm.auto import tqdm

    hashes, owners = [], []
    for row in tqdm(rows, desc="hashing frames", unit="frame", disable=not progress):
        h = hash_file(row.get("abs_path", row["path"]))
        if h is not None:
            hashes.append(h)
            owners.append(row["video_id"])
    clusters = cluster_near_duplicates(np.array(hashes, dtype=np.uint64), max_distance, owners=owners)
    return {video_id: f"scene_{cluster:04d}" for video_id, cluster in zip(owners, clusters)}
