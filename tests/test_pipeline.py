import cv2
import numpy as np
import pytest
import tensorflow as tf

from toolkit.data.augment import AugmentConfig, augment_clip, build_augmenter
from toolkit.data.frames import extract_frames
from toolkit.data.manifest import read_manifest
from toolkit.data.pipeline import (class_names_of, class_weights, decode_and_resize, make_clip_dataset,
                                   make_frame_dataset)


@pytest.fixture(scope="module")
def frame_rows(synthetic_videos, tmp_path_factory):
    out = tmp_path_factory.mktemp("frames")
    return read_manifest(extract_frames(synthetic_videos, out, num_frames=4, progress=False).manifest)


def test_decode_and_resize_same_eagerly_and_in_tf_data(frame_rows):
    paths = [r["abs_path"] for r in frame_rows[:6]]
    eager = np.stack([decode_and_resize(tf.constant(p), 40).numpy() for p in paths])
    mapped = np.stack(list(tf.data.Dataset.from_tensor_slices(paths)
                           .map(lambda p: decode_and_resize(p, 40), num_parallel_calls=4).as_numpy_iterator()))
    np.testing.assert_array_equal(eager, mapped)
    assert eager.dtype == np.uint8 and eager.shape == (6, 40, 40, 3)
    # And it matches an independent decode with OpenCV to within resize rounding.
    reference = cv2.resize(cv2.cvtColor(cv2.imread(paths[0]), cv2.COLOR_BGR2RGB), (40, 40),
                           interpolation=cv2.INTER_AREA)
    assert np.abs(reference.astype(int) - eager[0]).mean() < 3


def test_clip_augmentation_same_eagerly_and_in_tf_data():
    clip = np.random.default_rng(0).integers(0, 255, (3, 24, 24, 3), dtype=np.uint8)
    eager = augment_clip(build_augmenter(AugmentConfig(), seed=7), clip)
    augmenter = build_augmenter(AugmentConfig(), seed=7)
    mapped = tf.data.Dataset.from_tensors(clip).map(
        lambda c: tf.numpy_function(lambda x: augment_clip(augmenter, x), [c], tf.uint8))
    np.testing.assert_array_equal(eager, next(iter(mapped)).numpy())


def test_frame_batches_shapes_and_no_augmentation_on_evaluation(frame_rows):
    names = class_names_of(frame_rows)
    evaluation = make_frame_dataset(frame_rows, names, 32, batch_size=8)
    first = [b for b, _ in evaluation.take(2).as_numpy_iterator()]
    again = [b for b, _ in evaluation.take(2).as_numpy_iterator()]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)  # deterministic: no shuffle, no augmentation
    images, labels = first[0], next(iter(evaluation))[1].numpy()
    assert images.shape == (8, 32, 32, 3) and images.dtype == np.uint8
    assert labels.dtype == np.int32
    training = make_frame_dataset(frame_rows, names, 32, batch_size=8, training=True, augment=AugmentConfig())
    assert next(iter(training))[0].shape == (8, 32, 32, 3)


def test_clip_augmentation_is_identical_across_frames(frame_rows):
    frame = np.asarray(decode_and_resize(tf.constant(frame_rows[0]["abs_path"]), 48))
    clip = np.repeat(frame[None], 5, axis=0)
    augmenter = build_augmenter(AugmentConfig(horizontal_flip=1.0, affine=1.0, brightness_contrast=1.0,
                                              coarse_dropout=1.0), seed=3)
    for _ in range(5):
        out = augment_clip(augmenter, clip)
        assert not np.array_equal(out[0], frame)  # something changed ...
        for t in range(1, 5):
            np.testing.assert_array_equal(out[t], out[0])  # ... the same way for every frame


def test_clip_batches_pad_short_videos_with_zero_frames(frame_rows):
    names = class_names_of(frame_rows)
    ds = make_clip_dataset(frame_rows, names, num_frames=6, image_size=24, batch_size=4, training=True,
                           augment=AugmentConfig())
    clips, labels = next(iter(ds))
    assert clips.shape == (4, 6, 24, 24, 3) and labels.shape == (4,)
    # Every video has 4 frames: frames 5 and 6 are padding, all zeros even after augmentation.
    assert not np.any(clips.numpy()[:, 4:])
    assert np.all(clips.numpy()[:, :4].reshape(4, 4, -1).max(axis=-1) > 0)


def test_class_weights_balance_counts():
    rows = [{"label": "a"}] * 30 + [{"label": "b"}] * 10
    weights = class_weights(rows, ["a", "b"])
    assert weights[0] * 30 == pytest.approx(weights[1] * 10)
    assert weights[1] == pytest.approx(2.0)
