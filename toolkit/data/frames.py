"""Frame extraction: a folder of class-labelled videos into JPEG frames and a manifest.

Input layout `<videos>/<class>/<video>.mp4`; output
`<out>/<class>/<video_id>/frame_XXXXX.jpg` plus `<out>/manifest.csv` (one row
per frame, with its perceptual hash) and `<out>/failed.csv` (unreadable
videos and why).

Frames are written as they are decoded, so memory does not grow with a
video's length. A video counts as extracted once its own `frames.csv` is
written, after all its JPEGs; a re-run skips those, so an interrupted
extraction resumes.

Groups (what a split keeps together) must be trustworthy, or splits leak
while the audit passes: a group table or manifest that misses videos or
lacks the group column is an error, unless the caller accepts one group per
video for those (`one_group_per_video=True`).
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import json
import os
import shutil
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2

from toolkit.data.class_folders import scan_class_folders
from toolkit.data.images import perceptual_hash
from toolkit.data.manifest import (MANIFEST_NAME, find_dataset_manifest, group_from_pattern,  # noqa: F401
                                   read_group_table, write_manifest)
from toolkit.errors import DatasetError, UserError
from workout_runtime.locks import folder_lock
from workout_runtime.sampling import read_frames
from workout_runtime.video import VIDEO_EXTENSIONS, VideoReadError

_VIDEO_DONE = "frames.csv"


class FrameWriteError(UserError, OSError):
    """A frame could not be written; the extraction stops and resumes at that video."""
_FRAME_COLUMNS = ("path", "frame_index", "timestamp_s", "phash")


@dataclasses.dataclass(frozen=True)
class VideoEntry:
    """One video of a class-folder dataset.

    Attributes:
        path: the file.
        label: its class folder.
        video_id: `<class>/<stem>`, or `<class>/<file name>` when two files
            of a class share a stem (`clip.mp4`, `clip.avi`), so every video
            has its own frame folder.
        relative: `<class>/<file name>`, how a dataset manifest names it.
    """

    path: Path
    label: str
    video_id: str
    relative: str


@dataclasses.dataclass
class ExtractionReport:
    """What an extraction did: the manifest it wrote, what it skipped, where groups came from."""

    manifest: Path
    extracted: int
    resumed: int
    failed: list[tuple[str, str]]
    frames: int
    group_source: str = ""
    groups_per_class: dict[str, int] = dataclasses.field(default_factory=dict)
    notes: list[str] = dataclasses.field(default_factory=list)


def discover_videos(video_dir: str | os.PathLike) -> tuple[list[VideoEntry], list[str]]:
    """Videos under `<video_dir>/<class>/`, sorted, and notes on the layout (empty class folders).

    Raises:
        DatasetError: the folder is missing or not laid out as one sub-folder
            per class, with the expected layout in the message.
    """
    folders = scan_class_folders(video_dir, VIDEO_EXTENSIONS, "videos")
    entries = []
    for label, paths in folders.files.items():
        stems = Counter(p.stem for p in paths)
        for path in paths:
            name = path.stem if stems[path.stem] == 1 else path.name
            entries.append(VideoEntry(path, label, f"{label}/{name}", f"{label}/{path.name}"))
    return entries, folders.notes("videos")


def _fill(groups: dict[str, str], entries: list[VideoEntry], found: dict[str, str | None], source: str,
          one_group_per_video: bool, fix: str) -> str:
    """Groups from `found` (video_id -> group or None); the uncovered are an error unless accepted."""
    missing = [e for e in entries if not found.get(e.video_id)]
    if missing and not one_group_per_video:
        examples = ", ".join(e.relative for e in missing[:3])
        raise DatasetError(f"{source} gives no group for {len(missing)} of {len(entries)} videos (e.g. {examples}). "
                           f"{fix}, or pass --one-group-per-video to give each of them a group of its own (only "
                           f"safe if they come from distinct recordings).")
    for e in entries:
        groups[e.video_id] = found.get(e.video_id) or e.video_id
    return source + (f"; {len(missing)} videos without one are their own group" if missing else "")


def resolve_groups(entries: list[VideoEntry], video_dir: str | os.PathLike | None = None,
                   group_csv: str | os.PathLike | None = None, group_pattern: str | None = None,
                   one_group_per_video: bool = False) -> tuple[dict[str, str], str]:
    """Maps every video_id to its group; returns (groups, a description of the source).

    Priority: an explicit `group_csv`, then `group_pattern` on file names,
    then the `group` column of `<video_dir>/manifest.csv` (any case), else
    each video is its own group (said in the description).

    Raises:
        DatasetError: the chosen source misses videos, or the dataset manifest
            has no usable group column (without `one_group_per_video`).
    """
    groups: dict[str, str] = {}
    if group_csv is not None:
        table = read_group_table(group_csv)
        found = {e.video_id: table.get(e.relative) or table.get(e.path.name) or table.get(e.video_id)
                 or table.get(e.path.stem) for e in entries}
        return groups, _fill(groups, entries, found, f"group table {group_csv}", one_group_per_video,
                             f"Add them to {group_csv}")
    if group_pattern is not None:
        found = {e.video_id: group_from_pattern(e.path.name, group_pattern) for e in entries}
        return groups, _fill(groups, entries, found, f"file-name pattern {group_pattern!r}", one_group_per_video,
                             "Fix the pattern so that it matches every file name")
    manifest = find_dataset_manifest(video_dir) if video_dir is not None else None
    if manifest is not None:
        with open(manifest, newline="") as f:
            rows = list(csv.DictReader(f))
        columns = list(rows[0]) if rows else []
        if "group" not in columns or "path" not in columns:
            if not one_group_per_video:
                raise DatasetError(
                    f"'{manifest}' has columns {columns}; groups come from its 'group' column (with a 'path' "
                    f"column naming each video as <class>/<file>). Rename the column that says which recording, "
                    f"person or source a video comes from to 'group', pass --group-csv or --group-pattern, or pass "
                    f"--one-group-per-video to treat every video as its own source.")
        else:
            by_path = {}
            for r in rows:
                by_path[r["path"]] = r["group"]
                by_path.setdefault(str(Path(r["path"]).with_suffix("")), r["group"])
            found = {e.video_id: by_path.get(e.relative) or by_path.get(e.video_id) for e in entries}
            return groups, _fill(groups, entries, found, f"the group column of {manifest}", one_group_per_video,
                                 f"Add those videos with their group to {manifest}")
    for e in entries:
        groups[e.video_id] = e.video_id
    why = "no group source given" if manifest is None else f"{manifest} has no group column"
    return groups, (f"one group per video ({why}): clips cut from one recording could sit on both sides of a "
                    f"split; give --group-csv or --group-pattern, or infer groups with --group-near-duplicates")


def _extract_one(entry: VideoEntry, out_dir: Path, num_frames: int | None, every_seconds: float | None,
                 size, jpeg_quality: int) -> list[dict]:
    """Writes one video's frames as they are decoded; returns their manifest rows."""
    video_out = out_dir / entry.video_id
    shutil.rmtree(video_out, ignore_errors=True)  # leftovers of an interrupted attempt
    video_out.mkdir(parents=True)
    rows: list[dict] = []

    def write(frame, index: int, time_s: float) -> None:
        if frame is None:  # the reader restarts its pass: forget what was written
            for row in rows:
                (out_dir / row["path"]).unlink(missing_ok=True)
            rows.clear()
            return
        name = f"frame_{int(index):05d}.jpg"
        if rows and rows[-1]["frame_index"] == int(index):
            return
        target = video_out / name
        # imwrite answers False (it raises nothing) when the disk is full or the folder unwritable: a frame
        # not on disk must stop the video before it is marked done, or its manifest rows point at nothing.
        if not cv2.imwrite(str(target), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality]) or not target.is_file():
            raise FrameWriteError(f"Could not write the frame '{target}' (disk full, or the folder is not "
                                  f"writable); free some space and run the same command again to resume.")
        rows.append({"path": f"{entry.video_id}/{name}", "frame_index": int(index),
                     "timestamp_s": round(float(time_s), 4), "phash": f"{int(perceptual_hash(frame)):016x}"})

    read_frames(entry.path, num_frames, every_seconds=every_seconds, size=size, on_frame=write, keep=False)
    # Written last: its presence marks the video as complete for resuming.
    write_manifest(video_out / _VIDEO_DONE, rows, columns=_FRAME_COLUMNS)
    return rows


def extract_element(element: dict, out_dir: str, num_frames: int | None, every_seconds: float | None, size,
                    jpeg_quality: int) -> list[str]:
    """The Beam pipeline's per-video work (`toolkit.data.beam_pipeline.run_extraction`): a `VideoEntry` as a plain
    dict -> [] once its frames are written, or one JSON line with its path and why it is unreadable."""
    entry = VideoEntry(**{k: (Path(v) if k == "path" else v) for k, v in element.items()})
    _, reason = extract_video(entry, Path(out_dir), num_frames, every_seconds, size, jpeg_quality)
    return [json.dumps({"path": str(entry.path), "reason": reason})] if reason else []


def extract_video(entry: VideoEntry, out_dir: Path, num_frames: int | None, every_seconds: float | None, size,
                  jpeg_quality: int) -> tuple[list[dict] | None, str | None]:
    """One video's frames written to `out_dir` (see `_extract_one`): (its rows, None), or (None, why it is
    unreadable). Shared by the thread pool and the Beam pipeline."""
    try:
        return _extract_one(entry, out_dir, num_frames, every_seconds, size, jpeg_quality), None
    except VideoReadError as error:
        return None, error.reason


def _read_done(video_out: Path) -> list[dict] | None:
    done = video_out / _VIDEO_DONE
    if not done.is_file():
        return None
    with open(done, newline="") as f:
        return list(csv.DictReader(f))


def extract_frames(video_dir: str | os.PathLike, out_dir: str | os.PathLike, **options) -> ExtractionReport:
    """Extracts frames of every video under `video_dir` into `out_dir`, holding `out_dir` for this process.

    See `_extract_frames` for the options. Raises `FolderBusyError` when another
    process is extracting into `out_dir`.
    """
    with folder_lock(out_dir, "extracting frames"):
        return _extract_frames(video_dir, out_dir, **options)


def _checked_sampling(num_frames, every_seconds) -> int | None:
    """Frames per video (None when sampling by period), or the `DatasetError` for a bad setting."""
    if every_seconds is not None:
        if not every_seconds > 0:
            raise DatasetError(f"Received: every_seconds={every_seconds!r}; expected a positive number of seconds.")
        return None
    if isinstance(num_frames, bool) or not isinstance(num_frames, int) or num_frames < 1:
        raise DatasetError(f"Received: num_frames={num_frames!r}; expected a positive integer (frames per video).")
    return num_frames


def _start_output(out: Path, settings: dict, video_dir, group_source: str) -> None:
    """Records the extraction's settings in `out`, or refuses an `out` extracted with other settings."""
    settings_path = out / "extraction.json"
    if settings_path.is_file():
        previous = json.loads(settings_path.read_text()).get("settings")
        if previous != settings:
            raise DatasetError(f"'{out}' holds frames extracted with settings {previous}; this run asks for "
                               f"{settings}. Use another output folder, or delete '{out}' to start over.")
    out.mkdir(parents=True, exist_ok=True)
    settings_path.write_text(json.dumps({"settings": settings, "video_dir": str(video_dir),
                                         "group_source": group_source}, indent=2))


def _extract_with_beam(todo, out: Path, settings: dict, jpeg_quality: int, beam_options,
                       results: dict) -> list[tuple[str, str]]:
    """The videos `todo` extracted by an Apache Beam pipeline; their rows go into `results`, failures returned."""
    from toolkit.data.beam_pipeline import run_extraction

    extract = functools.partial(extract_element, out_dir=str(out), num_frames=settings["num_frames"],
                                every_seconds=settings["every_seconds"], size=settings["size"],
                                jpeg_quality=jpeg_quality)
    failed = run_extraction(todo, out, extract, beam_options)
    unreadable = {path for path, _ in failed}
    for entry in todo:
        rows = _read_done(out / entry.video_id)
        if rows is not None:
            results[entry.video_id] = rows
        elif str(entry.path) not in unreadable:
            failed.append((str(entry.path), "the pipeline wrote no frames for it"))
    return failed


def _extract_frames(video_dir: str | os.PathLike, out_dir: str | os.PathLike, *,
                   num_frames: int | None = 16, every_seconds: float | None = None,
                   size: int | tuple[int, int] | None = None, group_csv=None, group_pattern=None,
                   one_group_per_video: bool = False, jpeg_quality: int = 92, workers: int = 2,
                   progress: bool = True, runner: str | None = None) -> ExtractionReport:
    """Extracts frames of every video under `video_dir` into `out_dir`.

    Args:
        video_dir: `<class>/<video>` folder of videos.
        out_dir: where frames, `manifest.csv` and `failed.csv` go.
        num_frames: frames per video, uniform in time (TSN-style segment centres).
        every_seconds: instead, one frame per period; set `num_frames=None`.
        size: resize frames to `(height, width)` or a square int; None keeps
            the decoded size (the training pipeline resizes anyway).
        group_csv, group_pattern, one_group_per_video: where groups come
            from; see `resolve_groups`.
        jpeg_quality: JPEG quality of written frames.
        workers: videos decoded in parallel (OpenCV releases the GIL), or
            Beam's DirectRunner processes with `runner="direct"`.
        progress: show a progress bar of videos done.
        runner: None extracts with a thread pool; "direct" or Beam pipeline
            options ("--runner=DataflowRunner ...") run the same per-video
            work as an Apache Beam pipeline (`toolkit.data.beam_pipeline`).

    Returns:
        An `ExtractionReport`, with the group source, groups per class and
        notes (empty class folders) to show the user.

    Raises:
        DatasetError: bad layout, untrustworthy groups, settings that differ
            from an extraction already in `out_dir`, or no readable video.
    """
    from tqdm.auto import tqdm

    from toolkit.data.splits import groups_per_class

    num_frames = _checked_sampling(num_frames, every_seconds)
    entries, notes = discover_videos(video_dir)
    groups, group_source = resolve_groups(entries, video_dir, group_csv, group_pattern, one_group_per_video)
    beam_options = None
    if runner is not None:  # bad pipeline options are refused before anything is written
        from toolkit.data.beam_pipeline import pipeline_options

        beam_options = pipeline_options(runner, workers)
    out = Path(out_dir)
    settings = {"num_frames": num_frames, "every_seconds": every_seconds,
                "size": list(size) if isinstance(size, (tuple, list)) else size}
    _start_output(out, settings, video_dir, group_source)
    results = {e.video_id: rows for e in entries if (rows := _read_done(out / e.video_id)) is not None}
    todo, resumed = [e for e in entries if e.video_id not in results], len(results)
    if runner is not None:
        failed = _extract_with_beam(todo, out, settings, jpeg_quality, beam_options, results)
    else:
        failed = []

        def work(entry: VideoEntry):
            return entry, *extract_video(entry, out, num_frames, every_seconds, size, jpeg_quality)

        with tqdm(total=len(entries), initial=resumed, desc="extracting frames", unit="video",
                  disable=not progress) as bar, ThreadPoolExecutor(max(1, workers)) as pool:
            for entry, rows, reason in pool.map(work, todo):
                if rows is None:
                    failed.append((str(entry.path), reason))
                else:
                    results[entry.video_id] = rows
                bar.update()

    write_manifest(out / "failed.csv", [{"path": p, "reason": r} for p, r in failed], columns=("path", "reason"))
    if not results:
        listing = "; ".join(f"{p}: {r}" for p, r in failed[:5])
        raise DatasetError(f"No video under '{video_dir}' could be read ({len(failed)} failed: {listing}).")
    manifest_rows = [{**row, "label": entry.label, "video_id": entry.video_id, "group": groups[entry.video_id]}
                     for entry in entries for row in results.get(entry.video_id, [])]
    manifest = write_manifest(out / MANIFEST_NAME, manifest_rows)
    per_class = groups_per_class([r["label"] for r in manifest_rows], [r["group"] for r in manifest_rows])
    return ExtractionReport(manifest, len(todo) - len(failed), resumed, failed, len(manifest_rows), group_source,
                            per_class, notes)


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
