"""Frame extraction: a folder of class-labelled videos into JPEG frames and a manifest.

Input layout `<videos>/<class>/<video>.mp4`; output
`<out>/<class>/<video_id>/frame_XXXXX.jpg` plus `<out>/manifest.csv` (one row
per frame) and `<out>/failed.csv` (unreadable videos and why).

A video counts as extracted once its own `frames.csv` is written, after all
its JPEGs; a re-run skips those, so an interrupted extraction resumes.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2

from toolkit.data.manifest import (MANIFEST_NAME, group_from_pattern, read_group_table,
                                   write_manifest)
from workout_runtime.video import VIDEO_EXTENSIONS, VideoReadError, read_frames

_VIDEO_DONE = "frames.csv"


@dataclasses.dataclass(frozen=True)
class VideoEntry:
    """One video of a class-folder dataset."""

    path: Path
    label: str
    video_id: str  # "<label>/<stem>", unique across classes


@dataclasses.dataclass
class ExtractionReport:
    """What an extraction did: the manifest it wrote and what it skipped."""

    manifest: Path
    extracted: int
    resumed: int
    failed: list[tuple[str, str]]
    frames: int


def discover_videos(video_dir: str | os.PathLike) -> list[VideoEntry]:
    """Videos under `<video_dir>/<class>/`, sorted.

    Raises:
        FileNotFoundError / ValueError: the folder is missing or not laid out
            as one sub-folder per class, with the expected layout in the message.
    """
    root = Path(video_dir)
    layout = (f"expected one folder per class holding the videos, e.g. {root}/squat/clip1.mp4 "
              f"(extensions {', '.join(VIDEO_EXTENSIONS)})")
    if not root.is_dir():
        raise FileNotFoundError(f"Video folder not found: '{root}'; {layout}.")
    loose = [p.name for p in root.iterdir() if p.suffix.lower() in VIDEO_EXTENSIONS]
    entries = []
    for class_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for path in sorted(class_dir.iterdir()):
            if path.is_file() and path.suffix.lower() in VIDEO_EXTENSIONS:
                entries.append(VideoEntry(path, class_dir.name, f"{class_dir.name}/{path.stem}"))
    if not entries:
        found = f" Found videos directly in the folder ({', '.join(loose[:3])}...): move them into class folders." \
            if loose else ""
        raise ValueError(f"No videos found in class folders of '{root}'; {layout}.{found}")
    return entries


def resolve_groups(entries: list[VideoEntry], video_dir: str | os.PathLike | None = None,
                   group_csv: str | os.PathLike | None = None,
                   group_pattern: str | None = None) -> tuple[dict[str, str], str]:
    """Maps every video_id to its group; returns (groups, description of the source).

    Priority: an explicit `group_csv`, then a `group_pattern` on file names,
    then a `group` column of `<video_dir>/manifest.csv` if present, else each
    video is its own group. A video the chosen source does not cover keeps
    its own video_id as group (it cannot leak with anything else).
    """
    groups = {e.video_id: e.video_id for e in entries}
    if group_csv is not None:
        table = read_group_table(group_csv)
        for e in entries:
            groups[e.video_id] = table.get(e.video_id) or table.get(e.path.stem) or e.video_id
        return groups, f"group table {group_csv}"
    if group_pattern is not None:
        for e in entries:
            found = group_from_pattern(e.path.name, group_pattern)
            groups[e.video_id] = f"{found}" if found is not None else e.video_id
        return groups, f"file-name pattern {group_pattern!r}"
    if video_dir is not None and (Path(video_dir) / MANIFEST_NAME).is_file():
        with open(Path(video_dir) / MANIFEST_NAME, newline="") as f:
            rows = list(csv.DictReader(f))
        if rows and "group" in rows[0] and "path" in rows[0] and any(r["group"] for r in rows):
            by_path = {str(Path(r["path"]).with_suffix("")): r["group"] for r in rows if r["group"]}
            for e in entries:
                groups[e.video_id] = by_path.get(e.video_id, e.video_id)
            return groups, f"the group column of {Path(video_dir) / MANIFEST_NAME}"
    return groups, "one group per video (no group source given)"


def _extract_one(entry: VideoEntry, out_dir: Path, num_frames: int | None, every_seconds: float | None,
                 size, jpeg_quality: int) -> list[dict]:
    video_out = out_dir / entry.video_id
    video_out.mkdir(parents=True, exist_ok=True)
    clip = read_frames(entry.path, num_frames, every_seconds=every_seconds, size=size)
    rows = []
    seen = set()
    for frame, index, ts in zip(clip.frames, clip.frame_indices, clip.timestamps_s):
        if int(index) in seen:
            continue
        seen.add(int(index))
        name = f"frame_{int(index):05d}.jpg"
        cv2.imwrite(str(video_out / name), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR),
                    [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
        rows.append({"path": f"{entry.video_id}/{name}", "frame_index": int(index),
                     "timestamp_s": round(float(ts), 4)})
    # Written last: its presence marks the video as complete for resuming.
    write_manifest(video_out / _VIDEO_DONE, rows, columns=("path", "frame_index", "timestamp_s"))
    return rows


def _read_done(video_out: Path) -> list[dict] | None:
    done = video_out / _VIDEO_DONE
    if not done.is_file():
        return None
    with open(done, newline="") as f:
        return list(csv.DictReader(f))


def extract_frames(video_dir: str | os.PathLike, out_dir: str | os.PathLike, *,
                   num_frames: int | None = 16, every_seconds: float | None = None,
                   size: int | tuple[int, int] | None = None, group_csv=None, group_pattern=None,
                   jpeg_quality: int = 92, workers: int = 2, progress: bool = True) -> ExtractionReport:
    """Extracts frames of every video under `video_dir` into `out_dir`.

    Args:
        video_dir: `<class>/<video>` folder of videos.
        out_dir: where frames, `manifest.csv` and `failed.csv` go.
        num_frames: frames per video, uniform in time (TSN-style segment centres).
        every_seconds: instead, one frame per period; set `num_frames=None`.
        size: resize frames to `(height, width)` or a square int; None keeps
            the decoded size (the training pipeline resizes anyway).
        group_csv, group_pattern: where groups come from; see `resolve_groups`.
        jpeg_quality: JPEG quality of written frames.
        workers: videos decoded in parallel (OpenCV releases the GIL).
        progress: show a progress bar of videos done.

    Returns:
        An `ExtractionReport`.

    Raises:
        RuntimeError: no video at all could be read (the message lists why).
        ValueError: the output folder holds an extraction with other settings.
    """
    from tqdm.auto import tqdm

    if every_seconds is not None:
        num_frames = None
    entries = discover_videos(video_dir)
    groups, group_source = resolve_groups(entries, video_dir, group_csv, group_pattern)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    settings = {"num_frames": num_frames, "every_seconds": every_seconds,
                "size": list(size) if isinstance(size, (tuple, list)) else size}
    settings_path = out / "extraction.json"
    if settings_path.is_file():
        previous = json.loads(settings_path.read_text()).get("settings")
        if previous != settings:
            raise ValueError(f"'{out}' holds frames extracted with settings {previous}; this run asks for "
                             f"{settings}. Use another output folder, or delete '{out}' to start over.")
    settings_path.write_text(json.dumps({"settings": settings, "video_dir": str(video_dir),
                                         "group_source": group_source}, indent=2))

    results: dict[str, list[dict]] = {}
    failed: list[tuple[str, str]] = []
    resumed = 0
    todo = []
    for entry in entries:
        done = _read_done(out / entry.video_id)
        if done is not None:
            results[entry.video_id] = done
            resumed += 1
        else:
            todo.append(entry)

    bar = tqdm(total=len(entries), initial=resumed, desc="extracting frames", unit="video", disable=not progress)

    def work(entry: VideoEntry):
        try:
            return entry, _extract_one(entry, out, num_frames, every_seconds, size, jpeg_quality), None
        except VideoReadError as error:
            return entry, None, error.reason

    with ThreadPoolExecutor(max(1, workers)) as pool:
        for entry, rows, reason in pool.map(work, todo):
            if rows is None:
                failed.append((str(entry.path), reason))
            else:
                results[entry.video_id] = rows
            bar.update()
    bar.close()

    write_manifest(out / "failed.csv", [{"path": p, "reason": r} for p, r in failed], columns=("path", "reason"))
    if not results:
        listing = "; ".join(f"{p}: {r}" for p, r in failed[:5])
        raise RuntimeError(f"No video under '{video_dir}' could be read ({len(failed)} failed: {listing}).")
    manifest_rows = []
    for entry in entries:
        for row in results.get(entry.video_id, []):
            manifest_rows.append({**row, "label": entry.label, "video_id": entry.video_id,
                                  "group": groups[entry.video_id]})
    manifest = write_manifest(out / MANIFEST_NAME, manifest_rows)
    return ExtractionReport(manifest, len(todo) - len(failed), resumed, failed, len(manifest_rows))


def regroup_by_near_duplicates(manifest_path: str | os.PathLike, max_distance: int) -> tuple[Path, int]:
    """Rewrites a manifest's `group` column from near-duplicate clusters of its frames.

    For datasets whose sources are unknown: clips sharing near-identical
    frames (one recording cut into clips) get one group. Returns (manifest,
    number of groups).
    """
    from toolkit.data.images import infer_video_groups
    from toolkit.data.manifest import read_manifest

    rows = read_manifest(manifest_path)
    groups = infer_video_groups(rows, max_distance, progress=True)
    for row in rows:
        row["group"] = groups.get(row["video_id"], row["video_id"])
    path = Path(manifest_path)
    path = path / MANIFEST_NAME if path.is_dir() else path
    write_manifest(path, rows)
    return path, len(set(groups.values()))
