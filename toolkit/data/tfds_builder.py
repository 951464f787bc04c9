"""A tensorflow-datasets builder for class-folder workout videos (manual download).

Kaggle and most workout datasets cannot be downloaded automatically, so the
user points TFDS at the folder (`<manual_dir>/<class>/<video>.mp4`). The
builder samples frames with the toolkit's reader and splits by group, so
users of `tfds.load` get the same leakage-free train/validation/test splits::

    import tensorflow_datasets as tfds
    from toolkit.data.tfds_builder import WorkoutFrames, WorkoutFramesConfig

    builder = WorkoutFrames(config=WorkoutFramesConfig(name="mine", class_names=["push_up", "squat"]))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir="data/videos"))
    train = builder.as_dataset(split="train")  # image, label, video_id, group, frame_index, timestamp_s

Once prepared, `tfds.load("workout_frames/mine", data_dir=...)` reads it back (after importing
this module, which registers the builder). `WorkoutFramesConfig(..., beam=True)` generates the
examples with an Apache Beam pipeline instead (`download_and_prepare(download_config=
tfds.download.DownloadConfig(manual_dir=..., beam_options=PipelineOptions([...])))`), so a
cluster runner (Dataflow, Flink, Spark) can decode a large corpus.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import tensorflow_datasets as tfds

from toolkit.data.frames import discover_videos, resolve_groups
from toolkit.data.splits import grouped_split
from toolkit.data.synthetic import DEFAULT_CLASSES
from workout_runtime.sampling import read_frames
from workout_runtime.video import VideoReadError


class WorkoutFramesConfig(tfds.core.BuilderConfig):
    """Which classes, how many frames per video, at what size, and how to split."""

    def __init__(self, *, class_names: Sequence[str] = DEFAULT_CLASSES, num_frames: int = 16,
                 image_size: int = 224, validation_fraction: float = 0.15, test_fraction: float = 0.2,
                 group_pattern: str | None = None, seed: int = 42, beam: bool = False, **kwargs):
        kwargs.setdefault("version", "1.0.0")
        super().__init__(**kwargs)
        self.class_names = list(class_names)
        self.num_frames = num_frames
        self.image_size = image_size
        self.validation_fraction = validation_fraction
        self.test_fraction = test_fraction
        self.group_pattern = group_pattern
        self.seed = seed
        # Generate examples with an Apache Beam pipeline (pip install ".[beam]"): pass
        # DownloadConfig(beam_options=...) to run it on a cluster runner.
        self.beam = beam


class WorkoutFrames(tfds.core.GeneratorBasedBuilder):
    """Frames of workout videos with label, video and group, split by group."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = """
    Download the videos yourself (e.g. from Kaggle) and lay them out as
    <manual_dir>/<class>/<video>.mp4, one folder per class named as in the
    config's class_names. A manifest.csv with path and group columns in
    <manual_dir> (or the config's group_pattern) sets the groups that splits
    keep together; otherwise each video is its own group.
    """
    BUILDER_CONFIGS = [WorkoutFramesConfig(name="synthetic", description="The toolkit's synthetic classes.")]

    def _info(self) -> tfds.core.DatasetInfo:
        size = self.builder_config.image_size
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=(size, size, 3), encoding_format="jpeg"),
                "label": tfds.features.ClassLabel(names=self.builder_config.class_names),
                "video_id": tfds.features.Text(),
                "group": tfds.features.Text(),
                "frame_index": np.int64,
                "timestamp_s": np.float32,
            }),
            supervised_keys=("image", "label"),
            description="Frames sampled uniformly in time from class-labelled workout videos.",
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        config = self.builder_config
        entries = [e for e in discover_videos(dl_manager.manual_dir)[0] if e.label in config.class_names]
        if not entries:
            raise ValueError(f"No videos of classes {config.class_names} in {dl_manager.manual_dir}. "
                             f"{self.MANUAL_DOWNLOAD_INSTRUCTIONS}")
        groups, _ = resolve_groups(entries, dl_manager.manual_dir, group_pattern=config.group_pattern)
        subsets = grouped_split([e.label for e in entries], [groups[e.video_id] for e in entries],
                                config.validation_fraction, config.test_fraction, config.seed)
        return {name: self._generate_examples([(e, groups[e.video_id]) for e, s in zip(entries, subsets)
                                               if s == name])
                for name in ("train", "validation", "test") if name in set(subsets)}

    def _generate_examples(self, videos):
        config = self.builder_config
        if config.beam:
            from toolkit.data.beam_pipeline import tfds_examples

            return tfds_examples(videos, config.num_frames, config.image_size)
        return self._generate_locally(videos)

    def _generate_locally(self, videos):
        config = self.builder_config
        for entry, group in videos:
            try:
                clip = read_frames(entry.path, config.num_frames, size=config.image_size)
            except VideoReadError:
                continue  # An unreadable video yields no frames; extract_frames reports these.
            for frame, index, ts in zip(clip.frames, clip.frame_indices, clip.timestamps_s):
                yield f"{entry.video_id}/{int(index)}", {
                    "image": frame, "label": entry.label, "video_id": entry.video_id, "group": group,
                    "frame_index": int(index), "timestamp_s": float(ts)}
