import numpy as np
import tensorflow_datasets as tfds

from conftest import TINY_CONFIG
from toolkit.data.tfds_builder import WorkoutFrames, WorkoutFramesConfig


def test_tfds_builder_builds_grouped_splits(synthetic_videos, tmp_path):
    config = WorkoutFramesConfig(name="tiny", class_names=list(TINY_CONFIG.classes), num_frames=2, image_size=32,
                                 validation_fraction=0.3, test_fraction=0.3, seed=1)
    builder = WorkoutFrames(config=config, data_dir=str(tmp_path))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(synthetic_videos)))
    groups_by_split, total = {}, 0
    for split in builder.info.splits:
        examples = list(tfds.as_numpy(builder.as_dataset(split=split)))
        total += len(examples)
        assert examples[0]["image"].shape == (32, 32, 3) and examples[0]["image"].dtype == np.uint8
        groups_by_split[split] = {e["group"].decode() for e in examples}
        for e in examples:
            assert builder.info.features["label"].int2str(e["label"]) == e["video_id"].decode().split("/")[0]
    assert total == 2 * len(TINY_CONFIG.classes) * TINY_CONFIG.videos_per_class
    names = list(groups_by_split)
    assert len(names) >= 2
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not groups_by_split[a] & groups_by_split[b]
    # tfds.load reads the prepared dataset back.
    train = tfds.load("workout_frames/tiny", split="train", data_dir=str(tmp_path), download=False)
    assert len(list(train)) == builder.info.splits["train"].num_examples
