"""Dataset report: a decode-based integrity scan of a video folder, with a summary."""

from __future__ import annotations

import dataclasses
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")  # Headless: recipes run on servers without a display.
import matplotlib.pyplot as plt  # noqa: E402

from toolkit.data.frames import discover_videos  # noqa: E402
from workout_runtime.video import VideoInfo, VideoReadError, probe_video  # noqa: E402


@dataclasses.dataclass
class DatasetScan:
    """Per-video metadata of readable videos and the reasons others failed."""

    readable: list[tuple[str, str, VideoInfo]]  # (label, video_id, info)
    unreadable: list[tuple[str, str]]  # (path, reason)
    notes: list[str] = dataclasses.field(default_factory=list)  # empty class folders

    def per_class(self) -> dict[str, dict]:
        """Videos, total and mean duration, frames and header mismatches per class."""
        table: dict[str, dict] = {}
        for label, _, info in self.readable:
            row = table.setdefault(label, {"videos": 0, "seconds": 0.0, "frames": 0, "header_mismatch": 0})
            row["videos"] += 1
            row["seconds"] += info.duration_s
            row["frames"] += info.frame_count
            row["header_mismatch"] += int(info.container_frame_count != info.frame_count)
        for row in table.values():
            row["mean_seconds"] = row["seconds"] / row["videos"]
        return dict(sorted(table.items()))


def scan_videos(video_dir: str | os.PathLike, workers: int = 2, progress: bool = True) -> DatasetScan:
    """Decodes every video of `<video_dir>/<class>/` once (grab only) and records what fails."""
    from tqdm.auto import tqdm

    entries, notes = discover_videos(video_dir)
    readable, unreadable = [], []

    def probe(entry):
        try:
            return entry, probe_video(entry.path), None
        except VideoReadError as error:
            return entry, None, error.reason

    with ThreadPoolExecutor(max(1, workers)) as pool:
        for entry, info, reason in tqdm(pool.map(probe, entries), total=len(entries), desc="scanning videos",
                                        unit="video", disable=not progress):
            if info is None:
                unreadable.append((str(entry.path), reason))
            else:
                readable.append((entry.label, entry.video_id, info))
    return DatasetScan(readable, unreadable, notes)


def format_scan(scan: DatasetScan) -> str:
    """The printed summary table."""
    lines = [f"{'class':<22}{'videos':>7}{'minutes':>9}{'mean s':>8}{'frames':>9}{'header!=decoded':>17}"]
    for label, row in scan.per_class().items():
        lines.append(f"{label:<22}{row['videos']:>7}{row['seconds'] / 60:>9.1f}{row['mean_seconds']:>8.1f}"
                     f"{row['frames']:>9}{row['header_mismatch']:>17}")
    lines.append(f"{len(scan.readable)} readable videos, {len(scan.unreadable)} unreadable")
    for path, reason in scan.unreadable:
        lines.append(f"  UNREADABLE {path}: {reason}")
    return "\n".join(lines)


def write_scan(scan: DatasetScan, out_dir: str | os.PathLike) -> list[Path]:
    """PNG plots (videos per class, duration distribution) and CSVs of the scan."""
    import csv


    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    table = scan.per_class()
    _plot_bars({k: v["videos"] for k, v in table.items()}, out / "videos_per_class.png", "Videos per class", "videos")
    _plot_histogram([info.duration_s for _, _, info in scan.readable], out / "durations.png",
                   "Video durations", "seconds (measured by decoding)")
    with open(out / "videos.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["video_id", "label", "frames", "fps", "duration_s", "width", "height",
                         "container_frames", "container_fps"])
        for label, video_id, i in scan.readable:
            writer.writerow([video_id, label, i.frame_count, round(i.fps, 3), round(i.duration_s, 3), i.width,
                             i.height, i.container_frame_count, round(i.container_fps, 3)])
    with open(out / "unreadable.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "reason"])
        writer.writerows(scan.unreadable)
    return [out / "videos_per_class.png", out / "durations.png", out / "videos.csv", out / "unreadable.csv"]


def _plot_bars(values: dict[str, float], path: str | os.PathLike, title: str, ylabel: str) -> None:
    fig, ax = plt.subplots(figsize=(max(4, 0.6 * len(values) + 2), 3.5))
    ax.bar(list(values), list(values.values()), color="#4c72b0")
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.tick_params(axis="x", rotation=45)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_histogram(values: Sequence[float], path: str | os.PathLike, title: str, xlabel: str) -> None:
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.hist(values, bins=min(30, max(5, len(values) // 3)), color="#55a868")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("videos")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
