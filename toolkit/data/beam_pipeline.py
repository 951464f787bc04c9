"""Frame extraction as an Apache Beam pipeline: the same per-video work, on one machine or a cluster.

`extract_frames(..., runner=...)` and the TFDS builder (`WorkoutFramesConfig(beam=True)`) hand their videos to
Beam instead of a thread pool. Each video is one element: decoded, sampled, resized and (for frame folders)
written as JPEGs with its done-marker, exactly as the thread pool does, so an interrupted Beam run resumes
like any other. A video that cannot be read goes to a side output with its reason; it never fails the
pipeline.

Runner options are Beam's own flags, for example::

    --runner direct                                        # DirectRunner, one process per core
    --runner "--runner=DirectRunner --direct_num_workers=2 --direct_running_mode=multi_processing"
    --runner "--runner=DataflowRunner --project=P --region=R --temp_location=gs://B/tmp"   # a cluster

A cluster's workers must see the video and output folders (a shared file system, or gs:// paths) and have the
toolkit installed (`--requirements_file` or a container image).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterable, Sequence

from toolkit import WORKER_ENVIRONMENT
from toolkit.errors import DatasetError

BEAM_INSTALL = 'pip install ".[beam]"'


def beam_module():
    """`apache_beam`, or a clear error naming the extra that installs it."""
    try:
        import apache_beam
    except ImportError:
        raise DatasetError(f"Running extraction as a Beam pipeline needs Apache Beam: {BEAM_INSTALL}") from None
    return apache_beam


def pipeline_options(runner: str | Sequence[str] | None, workers: int = 2):
    """Beam `PipelineOptions` from "direct" (DirectRunner, `workers` processes) or Beam's own flags."""
    beam = beam_module()
    if runner is None or runner == "direct":
        flags = ["--runner=DirectRunner", f"--direct_num_workers={max(1, workers)}",
                 "--direct_running_mode=multi_processing" if workers > 1 else "--direct_running_mode=in_memory"]
    else:
        flags = shlex.split(runner) if isinstance(runner, str) else list(runner)
        if not any(f.startswith("--runner") for f in flags):
            raise DatasetError(f"Received: runner={runner!r}; expected 'direct' or Beam pipeline options "
                               f"including --runner=..., e.g. '--runner=DirectRunner --direct_num_workers=2'.")
    return beam.options.pipeline_options.PipelineOptions(flags)


def run_extraction(entries: Iterable, out_dir: str | os.PathLike, extract: Callable[[dict], list[str]],
                   options) -> list[tuple[str, str]]:
    """Extracts `entries` (frames.VideoEntry) with Beam under `options` (`pipeline_options`); returns
    (path, reason) of the unreadable ones.

    `extract` is the per-video work (`toolkit.data.frames.extract_element` with its settings bound): a video as a
    plain dict -> [] when its frames and done-marker are on disk, else one JSON line with its path and reason.
    It is passed in (picklable, a module-level function) so that this module needs nothing of `frames`.
    """
    beam = beam_module()
    import dataclasses
    import logging

    elements = [{k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(e).items()} for e in entries]
    if not elements:
        return []
    # The local job service relays every worker's start-up warnings; real failures still raise.
    logging.getLogger("apache_beam").setLevel(logging.ERROR)
    # DirectRunner's worker processes inherit this and skip TensorFlow's import (they only decode and write).
    previous = os.environ.get(WORKER_ENVIRONMENT)
    os.environ[WORKER_ENVIRONMENT] = "1"
    failures_dir = Path(tempfile.mkdtemp(prefix="beam-failed-", dir=str(out_dir)))
    try:
        with beam.Pipeline(options=options) as pipeline:
            _ = (pipeline
                 | "videos" >> beam.Create(elements, reshuffle=True)
                 | "extract" >> beam.FlatMap(extract)
                 | "failures" >> beam.io.WriteToText(str(failures_dir / "failed"), file_name_suffix=".jsonl"))
        return [(d["path"], d["reason"]) for path in sorted(failures_dir.glob("failed*"))
                for d in map(json.loads, path.read_text().splitlines()) if d]
    finally:
        shutil.rmtree(failures_dir, ignore_errors=True)
        if previous is None:
            os.environ.pop(WORKER_ENVIRONMENT, None)
        else:
            os.environ[WORKER_ENVIRONMENT] = previous


def tfds_examples(videos: Sequence, num_frames: int, image_size: int):
    """The TFDS builder's examples as a Beam transform: (video, group) pairs -> keyed examples.

    Unreadable videos yield nothing (counted in the Beam metric `unreadable_videos`).
    """
    beam = beam_module()
    elements = [{"path": str(entry.path), "label": entry.label, "video_id": entry.video_id, "group": group}
                for entry, group in videos]
    return (beam.Create(elements, reshuffle=True)
            | beam.FlatMap(_video_examples, num_frames=num_frames, image_size=image_size))


def _video_examples(element: dict, num_frames: int, image_size: int):
    import apache_beam as beam

    from workout_runtime.sampling import read_frames
    from workout_runtime.video import VideoReadError

    try:
        clip = read_frames(element["path"], num_frames, size=image_size)
    except VideoReadError:
        beam.metrics.Metrics.counter("workout_frames", "unreadable_videos").inc()
        return
    for frame, index, ts in zip(clip.frames, clip.frame_indices, clip.timestamps_s):
        yield f"{element['video_id']}/{int(index)}", {
            "image": frame, "label": element["label"], "video_id": element["video_id"], "group": element["group"],
            "frame_index": int(index), "timestamp_s": float(ts)}
