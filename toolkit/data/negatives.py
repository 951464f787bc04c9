"""Negatives: real videos of anything but exercise, learnt by a run as one extra class, "other".

    rows = rows + negative_rows("../shared/data/nonexercise_video", "data/frames", 16, rows)

A negatives folder is laid out like `../shared/data/nonexercise_video`:
`<folder>/<sub-folder>/<video>` with a `manifest.csv` (any case) whose `path`
column names each video as `<sub-folder>/<file>` and whose `group` column
names its source. Its frames are extracted once, beside the exercise frames
(`<frames>/negatives/<folder name>-<hash of its path>/`, resumable like any
extraction), and its rows join the exercise rows with the label "other" and
groups of their own (`negative:<group>`), so a grouped split keeps every
negative source on one side, exactly like an exercise source.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Mapping, Sequence

from toolkit.data.frames import discover_videos, extract_frames, find_dataset_manifest
from toolkit.data.manifest import read_manifest
from toolkit.errors import DatasetError
from workout_runtime.verdicts import OTHER

NEGATIVE_GROUP_PREFIX = "negative:"


def negatives_frames_dir(negatives_dir: str | os.PathLike, frames_dir: str | os.PathLike) -> Path:
    """Where a negatives folder's frames go: beside the exercise frames, one folder per negatives folder."""
    source = Path(negatives_dir).resolve()
    digest = hashlib.sha1(str(source).encode()).hexdigest()[:8]
    return Path(frames_dir) / "negatives" / f"{source.name}-{digest}"


def check_negatives_folder(negatives_dir: str | os.PathLike) -> None:
    """Refuses a negatives folder that is missing, holds no video, or has no manifest naming groups.

    Raises:
        DatasetError: naming the folder and the fix.
    """
    folder = Path(negatives_dir)
    layout = ("expected videos as <folder>/<sub-folder>/<video> with a manifest.csv whose 'path' column names each "
              "one as <sub-folder>/<file> and whose 'group' column names its source (like "
              "../shared/data/nonexercise_video)")
    if not folder.is_dir():
        raise DatasetError(f"The negatives folder was not found. Received: negatives={str(negatives_dir)!r}; {layout}.")
    try:
        entries, _ = discover_videos(folder)
    except DatasetError:
        entries = []
    if not entries:
        raise DatasetError(f"The negatives folder '{folder}' holds no video in a sub-folder; {layout}.")
    if find_dataset_manifest(folder) is None:
        raise DatasetError(f"The negatives folder '{folder}' has no manifest.csv; {layout}. Negatives are split by "
                           f"source like exercises, so each needs a group.")


def negative_rows(negatives_dir: str | os.PathLike, frames_dir: str | os.PathLike, num_frames: int,
                  exercise_rows: Sequence[Mapping] = (), progress: bool = True) -> list[dict]:
    """The negatives' frame-manifest rows (extracting their frames first, or resuming), labelled "other".

    Args:
        negatives_dir: the negatives folder (see the module docstring).
        frames_dir: the exercise frame folder; negatives' frames go under its `negatives/`.
        num_frames: frames per video, as for the exercises.
        exercise_rows: the exercise rows they will join, checked for a clash of
            class names or groups.
        progress: a progress bar while extracting.

    Raises:
        DatasetError: a bad folder (see `check_negatives_folder`), an exercise
            class named "other", or a group holding both exercises and negatives.
    """
    check_negatives_folder(negatives_dir)
    out = negatives_frames_dir(negatives_dir, frames_dir)
    extract_frames(negatives_dir, out, num_frames=num_frames, progress=progress)
    return read_negative_rows(out, exercise_rows)


def read_negative_rows(negative_frames: str | os.PathLike, exercise_rows: Sequence[Mapping] = ()) -> list[dict]:
    """Rows of already extracted negatives (`negatives_frames_dir`), labelled "other", checked against the exercises.

    Raises:
        DatasetError: an exercise class named "other", or a group holding both exercises and negatives.
    """
    if any(r["label"] == OTHER for r in exercise_rows):
        raise DatasetError(f"The exercise frames have a class named {OTHER!r}, the name of the class negatives are "
                           f"learnt as; rename that class folder (and extract again), or train without --negatives.")
    rows = read_manifest(negative_frames)
    exercise_groups = {r["group"] for r in exercise_rows}
    shared = sorted({r["group"] for r in rows} & exercise_groups)
    shared += sorted({NEGATIVE_GROUP_PREFIX + r["group"] for r in rows} & exercise_groups)
    if shared:
        raise DatasetError(f"The negatives in '{negative_frames}' share groups with the exercise videos "
                           f"({shared[:3]}): a source cannot be both an exercise and not one. Remove those videos from "
                           f"the negatives or give them their own group in their manifest.csv.")
    for row in rows:
        row.update(label=OTHER, video_id=f"{OTHER}/{row['video_id']}", group=NEGATIVE_GROUP_PREFIX + row["group"])
    return rows
