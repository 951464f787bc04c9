"""The datasets a recipe can be pointed at: a frame folder (extracted from videos) or a folder of images.

    dataset = load_dataset(frames="data/frames")          # manifest.csv written by extract_frames
    dataset = load_dataset(images="data/photos")          # <class>/<image>, one "video" per image

Both give frame-manifest rows and what to tell the user about them (group
source, groups per class, skipped files), and name the unit of a sample
("videos" or "images") so that reports speak of the right thing.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path

from toolkit.data.images import load_image_folder
from toolkit.data.manifest import read_manifest
from toolkit.data.negatives import negative_rows, negatives_frames_dir, read_negative_rows
from toolkit.data.splits import groups_per_class
from toolkit.errors import DatasetError
from workout_runtime.verdicts import OTHER


@dataclasses.dataclass
class Dataset:
    """Frame-manifest rows with what a recipe shows about them.

    Attributes:
        rows: one per frame (per image for image folders).
        root: the folder.
        unit: "videos" or "images".
        group_source: where the groups came from.
        notes: skipped files, empty class folders, caveats.
        options: the group options it was read with, to read it again alike.
    """

    rows: list[dict]
    root: Path
    unit: str
    group_source: str
    notes: list[str]
    options: dict = dataclasses.field(default_factory=dict)

    def describe(self) -> dict:
        """What a run records to read this dataset again (`load_dataset(**described)`)."""
        key = "images" if self.unit == "images" else "frames"
        return {"unit": self.unit, key: str(self.root.resolve()), **self.options}

    def summary(self) -> list[str]:
        """Lines for the console: size, group source, groups per class, notes."""
        videos = len({r["video_id"] for r in self.rows})
        counts = groups_per_class([r["label"] for r in self.rows], [r["group"] for r in self.rows])
        lines = [f"{self.root}: {videos} {self.unit}" + (f", {len(self.rows)} frames" if self.unit == "videos" else "")
                 + f" in {len(counts)} classes", f"groups from {self.group_source}",
                 "groups per class: " + ", ".join(f"{k} {v}" for k, v in counts.items())]
        return lines + [f"note: {n}" for n in self.notes]


def add_dataset_flags(parser: argparse.ArgumentParser, required: bool = False) -> None:
    """`--frames DIR` or `--images DIR`, with the group options of image folders."""
    source = parser.add_mutually_exclusive_group(required=required)
    source.add_argument("--frames", help="frame folder with manifest.csv, written by recipes/extract_frames.py "
                                         "(default: config.frames_dir)")
    source.add_argument("--images", help="a folder of images laid out as <class>/<image> (a still-image dataset)")
    group = parser.add_argument_group("groups of an image folder (what a split must keep together)")
    group.add_argument("--group-csv", help="CSV with columns path (or video) and group")
    group.add_argument("--group-pattern", help="regex with one capture group applied to file names, e.g. '^(p\\d+)_'")
    group.add_argument("--group-near-duplicates", type=int, metavar="BITS",
                       help="cluster near-identical images (pHash distance <= BITS); by default only copies "
                            "(4 bits) are joined")
    group.add_argument("--one-group-per-video", action="store_true",
                       help="accept items the group source does not cover as groups of their own")


def load_dataset(frames: str | os.PathLike | None = None, images: str | os.PathLike | None = None,
                 group_csv=None, group_pattern=None, group_near_duplicates: int | None = None,
                 one_group_per_video: bool = False, unit: str | None = None,
                 negatives_frames: str | os.PathLike | None = None) -> Dataset:
    """Rows of a frame folder or an image folder (`unit` is accepted so `Dataset.describe()` round-trips).

    `negatives_frames`: extracted negatives (`add_negatives`) joined as the class "other".

    Raises:
        DatasetError: neither given, missing folder, bad layout, bad groups.
    """
    if negatives_frames is not None:
        dataset = load_dataset(frames, images, group_csv, group_pattern, group_near_duplicates, one_group_per_video)
        return _joined(dataset, read_negative_rows(negatives_frames, dataset.rows), Path(negatives_frames))
    if images is not None:
        folder = load_image_folder(images, group_pattern=group_pattern, group_csv=group_csv,
                                   near_duplicate_distance=group_near_duplicates,
                                   one_group_per_image=one_group_per_video)
        options = {"group_csv": group_csv, "group_pattern": group_pattern,
                   "group_near_duplicates": group_near_duplicates, "one_group_per_video": one_group_per_video}
        return Dataset(folder.rows, Path(images), "images", folder.group_source, folder.notes,
                       {k: v for k, v in options.items() if v})
    if frames is None:
        raise DatasetError("No dataset given: pass --frames DIR (extracted frames) or --images DIR (an image folder).")
    if group_csv or group_pattern or group_near_duplicates is not None:
        raise DatasetError("--group-csv, --group-pattern and --group-near-duplicates apply to --images; a frame folder "
                           "has its groups in its manifest (set them when extracting, with recipes/extract_frames.py).")
    rows = read_manifest(frames)
    return Dataset(rows, Path(frames), "videos", f"the manifest of {frames}", [])


def _joined(dataset: Dataset, negatives: list[dict], negatives_frames: Path) -> Dataset:
    videos = len({r["video_id"] for r in negatives})
    groups = len({r["group"] for r in negatives})
    return Dataset(dataset.rows + negatives, dataset.root, dataset.unit, dataset.group_source,
                   dataset.notes + [f"{videos} negative videos from {groups} sources join as the class '{OTHER}' "
                                    f"(frames in {negatives_frames})"],
                   {**dataset.options, "negatives_frames": str(negatives_frames.resolve())})


def add_negatives(dataset: Dataset, negatives_dir: str | os.PathLike | None, num_frames: int,
                  progress: bool = True) -> Dataset:
    """The dataset with the videos of `negatives_dir` (extracted beside its frames, or resumed) as the class "other".

    Raises:
        DatasetError: an image folder (negatives are videos), or a bad negatives folder (`negative_rows`).
    """
    if negatives_dir is None:
        return dataset
    if dataset.unit != "videos":
        raise DatasetError(f"negatives={str(negatives_dir)!r} applies to video runs (--frames); an image folder "
                           f"takes non-exercise photos as a class folder of its own.")
    rows = negative_rows(negatives_dir, dataset.root, num_frames, dataset.rows, progress)
    return _joined(dataset, rows, negatives_frames_dir(negatives_dir, dataset.root))


def dataset_from_args(args: argparse.Namespace, default_frames: str | os.PathLike) -> Dataset:
    """`load_dataset` from the flags of `add_dataset_flags` (frames default to `default_frames`)."""
    frames = None if args.images else (args.frames or default_frames)
    return load_dataset(frames, args.images, args.group_csv, args.group_pattern, args.group_near_duplicates,
                        args.one_group_per_video)


def feature_cache_dir(dataset: Dataset, runs_dir: str | os.PathLike) -> Path:
    """Where frozen encoders' features of a dataset are cached: beside extracted frames, or in the runs folder
    for image folders (which are the user's and are not written to)."""
    return dataset.root / "feature_cache" if dataset.unit == "videos" else Path(runs_dir) / "feature_cache"
