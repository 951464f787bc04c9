"""Extraction as an Apache Beam pipeline (DirectRunner, two processes): the same frames as the thread pool,
unreadable videos on a side output, and the TFDS builder generating through Beam."""

import csv

import numpy as np
import pytest

beam = pytest.importorskip("apache_beam")

from conftest import TINY_CONFIG  # noqa: E402
from toolkit.data.frames import extract_frames  # noqa: E402
from toolkit.errors import DatasetError  # noqa: E402


def rows_of(manifest):
    with open(manifest) as f:
        return sorted((r["video_id"], r["frame_index"], r["group"]) for r in csv.DictReader(f))


@pytest.fixture(scope="module")
def videos_with_a_broken_one(synthetic_videos, tmp_path_factory):
    import shutil

    folder = tmp_path_factory.mktemp("beam_videos")
    for label in ("squat", "push_up"):
        shutil.copytree(synthetic_videos / label, folder / label)
    (folder / "squat" / "broken.mp4").write_bytes(b"not a video" * 50)
    return folder


def test_beam_extraction_writes_the_frames_the_thread_pool_writes(videos_with_a_broken_one, tmp_path):
    pooled = extract_frames(videos_with_a_broken_one, tmp_path / "pool", num_frames=3, size=32, progress=False,
                            one_group_per_video=True)
    beamed = extract_frames(videos_with_a_broken_one, tmp_path / "beam", num_frames=3, size=32, progress=False,
                            one_group_per_video=True, runner="direct", workers=2)
    assert rows_of(beamed.manifest) == rows_of(pooled.manifest)
    assert beamed.frames == 3 * 2 * TINY_CONFIG.videos_per_class
    # The unreadable video went to the side output with its reason; the pipeline did not fail.
    assert [p.split("/")[-1] for p, _ in beamed.failed] == ["broken.mp4"] and beamed.failed[0][1]
    assert not list((tmp_path / "beam").glob("beam-failed-*"))  # its scratch folder is gone
    first = sorted((tmp_path / "beam" / "push_up").glob("*/frame_*.jpg"))[0]
    twin = tmp_path / "pool" / first.relative_to(tmp_path / "beam")
    assert first.read_bytes() == twin.read_bytes()
    # Resuming: nothing left to do.
    again = extract_frames(videos_with_a_broken_one, tmp_path / "beam", num_frames=3, size=32, progress=False,
                           one_group_per_video=True, runner="direct")
    assert again.resumed == 2 * TINY_CONFIG.videos_per_class and again.extracted == 0


def test_runner_options_without_a_runner_are_refused(videos_with_a_broken_one, tmp_path):
    with pytest.raises(DatasetError, match="--runner="):
        extract_frames(videos_with_a_broken_one, tmp_path / "x", num_frames=2, progress=False,
                       one_group_per_video=True, runner="--direct_num_workers=2")
    assert not (tmp_path / "x").exists()  # refused before anything is written


def test_the_tfds_builder_generates_through_beam(synthetic_videos, tmp_path):
    import tensorflow_datasets as tfds
    from apache_beam.options.pipeline_options import PipelineOptions

    from toolkit.data.tfds_builder import WorkoutFrames, WorkoutFramesConfig

    config = WorkoutFramesConfig(name="tiny_beam", class_names=list(TINY_CONFIG.classes), num_frames=2,
                                 image_size=32, validation_fraction=0.3, test_fraction=0.3, seed=1, beam=True)
    builder = WorkoutFrames(config=config, data_dir=str(tmp_path))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
        manual_dir=str(synthetic_videos), beam_options=PipelineOptions(["--runner=DirectRunner"])))
    total = sum(builder.info.splits[s].num_examples for s in builder.info.splits)
    assert total == 2 * len(TINY_CONFIG.classes) * TINY_CONFIG.videos_per_class
    example = next(iter(tfds.as_numpy(builder.as_dataset(split="train"))))
    assert example["image"].shape == (32, 32, 3) and example["image"].dtype == np.uint8
