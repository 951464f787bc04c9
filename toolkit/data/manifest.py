"""Frame manifests: one CSV row per frame, the unit every later step reads.

Columns: path (relative to the manifest's folder), label, video_id, group,
frame_index, timestamp_s, phash. `group` is what a split must keep together:
a video, a performer, or a source recording cut into several clips. `phash`
is the frame's 64-bit perceptual hash (hex), which the leakage audit compares
across a split.
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path
from typing import Iterable, Mapping

from toolkit.errors import DatasetError

MANIFEST_COLUMNS = ("path", "label", "video_id", "group", "frame_index", "timestamp_s", "phash")
MANIFEST_NAME = "manifest.csv"


def write_manifest(path: str | os.PathLike, rows: Iterable[Mapping], columns=MANIFEST_COLUMNS) -> Path:
    """Writes rows atomically (a crash never leaves half a manifest)."""
    path = Path(path)
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)
    return path


def read_manifest(path: str | os.PathLike) -> list[dict]:
    """Reads a frame manifest; `path` is a manifest file or the folder holding one.

    Raises:
        DatasetError: naming the file and the missing columns.
    """
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST_NAME
    if not path.is_file():
        raise DatasetError(f"No frame manifest at '{path}'. Run recipes/extract_frames.py first (or point to the "
                           f"folder it wrote; for a folder of images, use --images DIR).")
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except (UnicodeDecodeError, csv.Error) as error:
        raise DatasetError(f"'{path}' is not a frame manifest (a CSV file; {type(error).__name__}). Point --frames at "
                           f"the folder recipes/extract_frames.py wrote.") from None
    missing = [c for c in ("path", "label", "video_id", "group") if rows and c not in rows[0]]
    if missing or not rows:
        raise DatasetError(f"Manifest '{path}' is empty or lacks columns {missing}; "
                           f"expected columns {list(MANIFEST_COLUMNS)}.")
    root = path.parent
    for row in rows:
        row["abs_path"] = str(root / row["path"])
    return rows


def group_from_pattern(name: str, pattern: str) -> str | None:
    """The first capture group of `pattern` searched in `name`, or None.

    Example: pattern r"^(.*)_\\d+$" maps "push-up_12" to "push-up", so every
    clip cut from one source shares a group.
    """
    compiled = re.compile(pattern)
    if compiled.groups < 1:
        raise DatasetError(f"Group pattern needs one capture group. Received: group_pattern={pattern!r}; "
                           f"expected e.g. r'_p(\\d+)_'.")
    match = compiled.search(name)
    return match.group(1) if match else None


def find_dataset_manifest(folder: str | os.PathLike) -> Path | None:
    """`<folder>/manifest.csv`, whatever its case (`MANIFEST.csv` too): a dataset's own table of groups."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    return next((p for p in sorted(folder.iterdir()) if p.is_file() and p.name.lower() == MANIFEST_NAME), None)


def read_group_table(path: str | os.PathLike) -> dict[str, str]:
    """A CSV mapping videos to groups: columns (video or path or video_id) and group.

    Keys are normalised to the file stem, so `squat/a.mp4`, `a.mp4` and `a`
    all match the video `a`.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"Group table not found: '{path}'.")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise DatasetError(f"Group table '{path}' is empty.")
    key = next((k for k in ("video_id", "video", "path") if k in rows[0]), None)
    if key is None or "group" not in rows[0]:
        raise DatasetError(f"Group table '{path}' has columns {list(rows[0])}; expected 'group' and one of "
                           f"'video_id', 'video' or 'path'.")
    table = {}
    for row in rows:
        if row["group"]:
            table.setdefault(Path(row[key]).stem, row["group"])
            table.setdefault(Path(row[key]).name, row["group"])
            table[row[key]] = row["group"]
    return table


def rows_by_video(rows: Iterable[Mapping]) -> dict[str, list[Mapping]]:
    """Frame rows grouped per video_id, in frame order."""
    videos: dict[str, list[Mapping]] = {}
    for row in rows:
        videos.setdefault(row["video_id"], []).append(row)
    for frames in videos.values():
        frames.sort(key=lambda r: int(r.get("frame_index") or 0))
    return videos
