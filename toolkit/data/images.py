"""Image folders as frame manifests, and groups inferred from near-duplicates.

Image datasets scraped from videos hold many near-identical frames; when
nothing records where an image came from, we cluster images whose perceptual
hashes lie within a small Hamming distance and use the cluster as the group,
so near-identical images never straddle a split.
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from toolkit.data.class_folders import scan_class_folders
from toolkit.data.manifest import find_dataset_manifest, group_from_pattern, read_group_table
from toolkit.errors import DatasetError
from workout_runtime.images import IMAGE_EXTENSIONS, ImageReadError, read_image

# 64-bit pHash: identical scenes differ by a few bits, unrelated images by ~32.
# Clustering videos by their frames (several frames per clip) works best at 10
# bits (benchmarks/grouping.py); single photos are only joined when they are
# near-identical copies, at 4 bits (benchmarks/image_grouping.py).
DEFAULT_MAX_DISTANCE = 10
DUPLICATE_DISTANCE = 4


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


@dataclasses.dataclass
class ImageFolder:
    """An image folder read as frame-manifest rows (each image its own "video" of one frame).

    Attributes:
        rows: path (absolute), label, video_id (`<class>/<file name>`), group,
            frame_index 0, timestamp_s 0, phash.
        group_source: where the groups came from, to show the user.
        notes: what the user should know: empty class folders, skipped
            unreadable or damaged images (with the reason), unknown sources.
    """

    rows: list[dict]
    group_source: str
    notes: list[str]


def _image_groups(rows: list[dict], group_csv, group_pattern, near_duplicate_distance: int | None,
                  one_group_per_image: bool, image_dir=None) -> str:
    """Fills each row's group; returns the description of the source.

    Priority, as for video folders: `group_csv`, then `group_pattern`, then the `group` column of
    `<image_dir>/manifest.csv` (any case), else near-duplicate hashing.
    """
    def fill(found: dict[int, str | None], source: str, fix: str) -> str:
        missing = [r for i, r in enumerate(rows) if not found.get(i)]
        if missing and not one_group_per_image:
            raise DatasetError(f"{source} gives no group for {len(missing)} of {len(rows)} images (e.g. "
                               f"{', '.join(r['video_id'] for r in missing[:3])}). {fix}, or pass "
                               f"--one-group-per-video to give each of them a group of its own.")
        for i, row in enumerate(rows):
            row["group"] = found.get(i) or row["video_id"]
        return source
    if group_csv is not None:
        table = read_group_table(group_csv)
        return fill({i: table.get(r["video_id"]) or table.get(Path(r["path"]).name) or table.get(Path(r["path"]).stem)
                     for i, r in enumerate(rows)}, f"group table {group_csv}", f"Add them to {group_csv}")
    if group_pattern is not None:
        return fill({i: group_from_pattern(Path(r["path"]).name, group_pattern) for i, r in enumerate(rows)},
                    f"file-name pattern {group_pattern!r}", "Fix the pattern so that it matches every file name")
    manifest = find_dataset_manifest(image_dir) if image_dir is not None else None
    if manifest is not None:
        table = read_group_table(manifest)  # refuses a table without 'group' and 'path'/'video' columns
        return fill({i: table.get(str(Path(r["video_id"]).parent / Path(r["path"]).name)) or table.get(r["video_id"])
                     or table.get(Path(r["path"]).name) or table.get(Path(r["path"]).stem) for i, r in enumerate(rows)},
                    f"the folder's own {manifest.name}", f"Add them to {manifest}")
    hashes = np.array([int(r["phash"], 16) for r in rows], dtype=np.uint64)
    distance = DUPLICATE_DISTANCE if near_duplicate_distance is None else near_duplicate_distance
    clusters = cluster_near_duplicates(hashes, distance)
    for row, cluster in zip(rows, clusters):
        row["group"] = f"near_duplicate_{cluster:05d}"
    if near_duplicate_distance is not None:
        return (f"near-duplicate clusters (pHash distance <= {distance}): {len(set(clusters))} groups; hashing "
                f"joins copies and near-identical shots, not photos of one person in other poses, so the "
                f"figures stay optimistic")
    return (f"no source given: each image is its own group, except near-identical copies (pHash distance <= "
            f"{distance}), which share one ({len(set(clusters))} groups). Photos of one person or room in other "
            f"poses can sit on both sides of the split, so the figures are optimistic; give groups with "
            f"--group-csv or --group-pattern")


def load_image_folder(image_dir: str | os.PathLike, *, group_pattern: str | None = None,
                      group_csv: str | os.PathLike | None = None, near_duplicate_distance: int | None = None,
                      one_group_per_image: bool = False) -> ImageFolder:
    """Reads `<image_dir>/<class>/<image>` into frame-manifest rows, one "video" per image.

    Groups come from `group_csv`, else `group_pattern` on the file name, else
    the `group` column of `<image_dir>/manifest.csv` (any case, as for video
    folders), else perceptual hashing: by default only near-identical copies (pHash distance
    <= `DUPLICATE_DISTANCE`) share a group, because hashing recovers few true
    sources (benchmarks/image_grouping.py); `near_duplicate_distance` asks
    for wider clusters. Unreadable and damaged images are left out and named
    in the notes.

    Raises:
        DatasetError: bad layout, no readable image, or groups missing for
            some images (without `one_group_per_image`).
    """
    folders = scan_class_folders(image_dir, IMAGE_EXTENSIONS, "images")
    rows, skipped = [], []
    for label, paths in folders.files.items():
        stems = Counter(p.stem for p in paths)
        for path in paths:
            try:
                image = read_image(path)
            except ImageReadError as error:
                skipped.append(f"{path}: {error.reason}")
                continue
            name = path.stem if stems[path.stem] == 1 else path.name
            rows.append({"path": str(path.resolve()), "label": label, "video_id": f"{label}/{name}", "group": "",
                         "frame_index": 0, "timestamp_s": 0.0, "phash": f"{int(perceptual_hash(image)):016x}"})
    if not rows:
        raise DatasetError(f"No readable image in the class folders of '{image_dir}' ({len(skipped)} unreadable: "
                           f"{'; '.join(skipped[:3])}).")
    source = _image_groups(rows, group_csv, group_pattern, near_duplicate_distance, one_group_per_image, image_dir)
    notes = folders.notes("images") + [f"skipped {s}" for s in skipped]
    return ImageFolder(rows, source, notes)


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
        h = np.uint64(int(row["phash"], 16)) if row.get("phash") else hash_file(row.get("abs_path", row["path"]))
        if h is not None:
            hashes.append(h)
            owners.append(row["video_id"])
    clusters = cluster_near_duplicates(np.array(hashes, dtype=np.uint64), max_distance, owners=owners)
    return {video_id: f"scene_{cluster:04d}" for video_id, cluster in zip(owners, clusters)}
