"""tf.data pipelines from a frame manifest: image batches and clip batches.

Images stay uint8 in [0, 255] all the way: every model rescales inside
itself, and uint8 batches are a quarter the size of float ones. Padding
frames of short clips are all zeros, which the clip models read as a mask.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import tensorflow as tf

from toolkit.data.augment import AugmentConfig, augment_clip, augment_image, build_augmenter
from toolkit.data.manifest import rows_by_video
from workout_runtime.verdicts import OTHER
from workout_runtime.frame_geometry import resize_frame
from workout_runtime.video import uniform_indices

AUTOTUNE = tf.data.AUTOTUNE


def class_names_of(rows: Sequence[Mapping]) -> list[str]:
    """Sorted distinct labels, the "other" class (negatives) last: the class order of every model."""
    labels = {r["label"] for r in rows}
    return sorted(labels - {OTHER}) + ([OTHER] if OTHER in labels else [])


def balanced_class_weights(counts: Sequence[int]) -> dict[int, float]:
    """Balanced class weights `n / (k * n_c)` from per-class counts; absent classes get 0."""
    counts = np.asarray(counts, dtype=np.float64)
    present = counts > 0
    weights = np.zeros_like(counts)
    weights[present] = counts.sum() / (present.sum() * counts[present])
    return {i: float(w) for i, w in enumerate(weights)}


def class_weights(rows: Sequence[Mapping], class_names: Sequence[str]) -> dict[int, float]:
    """Balanced class weights from the training rows' labels."""
    return balanced_class_weights([sum(r["label"] == c for r in rows) for c in class_names])


def decode_image(path: tf.Tensor) -> tf.Tensor:
    """JPEG/PNG file -> `(H, W, 3)` uint8 RGB at its own size (eager or in tf.data).

    JPEGs decode with the accurate integer DCT, as OpenCV (`classify_image`, extraction) decodes them:
    TensorFlow's default fast DCT is a grey level away from it on average.
    """
    contents = tf.io.read_file(path)
    image = tf.cond(tf.io.is_jpeg(contents),
                    lambda: tf.io.decode_jpeg(contents, channels=3, dct_method="INTEGER_ACCURATE"),
                    lambda: tf.io.decode_image(contents, channels=3, expand_animations=False))
    image.set_shape((None, None, 3))
    return image


# What the pipeline does to a frame file before a model sees it; part of every cache and fold key, so that
# features or folds made with an earlier preprocessing are never reused.
PREPROCESSING = "jpeg-accurate-dct+opencv-area"


def decode_and_resize(path: tf.Tensor, image_size: int) -> tf.Tensor:
    """JPEG/PNG file -> `(image_size, image_size, 3)` uint8 RGB (eager or in tf.data).

    Resized by `workout_runtime.frame_geometry.resize_frame`, the function `classify_video` resizes decoded frames with
    (TensorFlow's fast JPEG decoding and area resize were a grey level away from it, which moved
    EfficientNet-Lite0's features by 9 %; tests/test_preprocessing.py holds the two paths together). OpenCV releases the GIL, so parallel map
    calls still run in parallel.
    """
    size = (int(image_size), int(image_size))
    image = tf.numpy_function(lambda frame: resize_frame(frame, size), [decode_image(path)], tf.uint8,
                              stateful=False)
    image.set_shape((image_size, image_size, 3))
    return image


def _labels(rows, class_names) -> np.ndarray:
    index = {c: i for i, c in enumerate(class_names)}
    unknown = sorted({r["label"] for r in rows} - set(index))
    if unknown:
        raise ValueError(f"Labels {unknown} are not among the model's classes {list(class_names)}.")
    return np.array([index[r["label"]] for r in rows], dtype=np.int32)


def make_frame_dataset(rows: Sequence[Mapping], class_names: Sequence[str], image_size: int,
                       batch_size: int, training: bool = False, augment: AugmentConfig | None = None,
                       seed: int = 0) -> tf.data.Dataset:
    """Batches of `(images uint8 (B, S, S, 3), labels int32 (B,))`.

    Args:
        rows: manifest rows (with `abs_path`, or `path` readable as is).
        class_names: the label order.
        image_size: output side in pixels.
        batch_size: batch size.
        training: shuffle (and augment if `augment` is given); evaluation data
            is never shuffled or augmented.
        augment: augmentation settings, used only when `training`.
        seed: shuffle seed.
    """
    paths = np.array([r.get("abs_path", r["path"]) for r in rows])
    labels = _labels(rows, class_names)
    ds = tf.data.Dataset.from_tensor_slices((paths, labels))
    if training:
        # Shuffle file names before decoding: a buffer of the whole dataset
        # costs only strings, and gives a full shuffle every epoch.
        ds = ds.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(lambda p, y: (decode_and_resize(p, image_size), y), num_parallel_calls=AUTOTUNE)
    if training and augment is not None:
        augmenter = build_augmenter(augment)

        def aug(image, label):
            out = tf.numpy_function(lambda x: augment_image(augmenter, x), [image], tf.uint8, stateful=True)
            out.set_shape((image_size, image_size, 3))
            return out, label

        ds = ds.map(aug, num_parallel_calls=AUTOTUNE)
    # Batch after the per-image work so map calls run in parallel per image.
    return ds.batch(batch_size).prefetch(AUTOTUNE)


def clip_paths(rows: Sequence[Mapping], num_frames: int) -> tuple[list[str], np.ndarray, np.ndarray, list[str]]:
    """Per video: `num_frames` frame paths sampled uniformly, padded, and a mask.

    Returns (video_ids, paths (V, T) with padding repeating the last frame,
    mask (V, T) bool, labels).
    """
    videos = rows_by_video(rows)
    ids, all_paths, masks, labels = [], [], [], []
    for video_id, frames in videos.items():
        picks = uniform_indices(len(frames), num_frames)
        chosen = [frames[i].get("abs_path", frames[i]["path"]) for i in picks]
        mask = np.zeros(num_frames, dtype=bool)
        mask[:len(chosen)] = True
        chosen += [chosen[-1]] * (num_frames - len(chosen))
        ids.append(video_id)
        all_paths.append(chosen)
        masks.append(mask)
        labels.append(frames[0]["label"])
    return ids, np.array(all_paths), np.array(masks), labels


def make_clip_dataset(rows: Sequence[Mapping], class_names: Sequence[str], num_frames: int,
                      image_size: int, batch_size: int, training: bool = False,
                      augment: AugmentConfig | None = None, seed: int = 0) -> tf.data.Dataset:
    """Batches of `(clips uint8 (B, T, S, S, 3), labels (B,))`, one clip per video.

    Frames a short video lacks are all-zero (the clip models mask them). In
    training, every frame of a clip receives the same random augmentation.
    """
    _, paths, masks, labels = clip_paths(rows, num_frames)
    y = _labels([{"label": label} for label in labels], class_names)
    ds = tf.data.Dataset.from_tensor_slices((paths, masks, y))
    if training:
        ds = ds.shuffle(len(y), seed=seed, reshuffle_each_iteration=True)

    def load(p, m, label):
        frames = tf.map_fn(lambda q: decode_and_resize(q, image_size), p, fn_output_signature=tf.uint8)
        frames = frames * tf.cast(m, tf.uint8)[:, None, None, None]
        return frames, m, label

    ds = ds.map(load, num_parallel_calls=AUTOTUNE)
    if training and augment is not None:
        augmenter = build_augmenter(augment)

        def aug(frames, m, label):
            out = tf.numpy_function(lambda x: augment_clip(augmenter, x), [frames], tf.uint8, stateful=True)
            out.set_shape((num_frames, image_size, image_size, 3))
            # Re-zero padding frames: brightness or dropout must not revive them.
            return out * tf.cast(m, tf.uint8)[:, None, None, None], m, label

        ds = ds.map(aug, num_parallel_calls=AUTOTUNE)
    ds = ds.map(lambda frames, m, label: (frames, label))
    return ds.batch(batch_size).prefetch(AUTOTUNE)
