"""Training and inference see the same pixels: extracted frames through the training pipeline against the
frames `classify_video` decodes and resizes, on synthetic videos and on real clips (with ../shared)."""

import cv2
import numpy as np
import tensorflow as tf

from toolkit.data.manifest import read_manifest
from toolkit.data.pipeline import decode_and_resize, decode_image
from workout_runtime.images import read_image
from workout_runtime.sampling import read_frames

# What separates the two paths is the JPEG of an extracted frame (quality 92, extraction's default); everything
# after decoding is the same code. Measured on 6 workout4 clips: 0.65 grey levels on average at 224 px,
# EfficientNet-Lite0 features 6.4 % apart (cosine 0.998). TensorFlow's fast JPEG decoding and its own area resize,
# used before, gave 1.06 grey levels and 9.4 % (cosine 0.995).
MEAN_GREY_LEVELS = 0.9
FEATURE_RELATIVE_DIFFERENCE = 0.08
FEATURE_COSINE = 0.996


def paired_frames(frames_dir, video_dir, size, count=None):
    """[(frame file, the same frame decoded from its video at `size`)] for the extracted videos."""
    rows = read_manifest(frames_dir)
    pairs = []
    for video_id in sorted({r["video_id"] for r in rows})[:count]:
        frames = sorted((r for r in rows if r["video_id"] == video_id), key=lambda r: int(r["frame_index"]))
        video = next((video_dir / video_id).parent.glob((video_dir / video_id).name + ".*"))
        decoded = read_frames(video, len(frames), size=size).frames
        assert len(decoded) == len(frames)
        pairs += [(str(frames_dir / r["path"]), frame) for r, frame in zip(frames, decoded)]
    return pairs


def test_jpeg_frames_decode_as_opencv_decodes_them(synthetic_frames):
    path = str(synthetic_frames / read_manifest(synthetic_frames)[0]["path"])
    np.testing.assert_array_equal(decode_image(tf.constant(path)).numpy(), read_image(path))


def test_extracted_frames_reach_the_model_as_decoded_frames_do(synthetic_frames, synthetic_videos):
    pairs = paired_frames(synthetic_frames, synthetic_videos, 64, count=6)
    differences = [np.abs(decode_and_resize(tf.constant(path), 64).numpy().astype(float) - frame).mean()
                   for path, frame in pairs]
    assert np.mean(differences) < MEAN_GREY_LEVELS, np.mean(differences)


def test_png_frames_are_the_decoded_frames_exactly(synthetic_videos, tmp_path):
    video = sorted(synthetic_videos.rglob("*.mp4"))[0]
    full, small = read_frames(video, 3).frames, read_frames(video, 3, size=48).frames
    for k, frame in enumerate(full):
        cv2.imwrite(str(tmp_path / f"{k}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        np.testing.assert_array_equal(decode_and_resize(tf.constant(str(tmp_path / f"{k}.png")), 48).numpy(),
                                      small[k])


def test_real_clips_give_the_same_features_in_training_and_in_use(shared_dir, tmp_path):
    from toolkit.data.frames import extract_frames
    from toolkit.models.registry import build_encoder
    from toolkit.training.features import compute_frame_features

    videos = tmp_path / "videos"
    for clip in ("squats/squat_11", "push-ups/push-up_20", "pull-ups/pull-up_3"):
        target = videos / f"{clip}.mp4"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(shared_dir / "data" / "workout4" / f"{clip}.mp4")
    extract_frames(videos, tmp_path / "frames", num_frames=6, one_group_per_video=True, progress=False)
    pairs = paired_frames(tmp_path / "frames", videos, 224)
    encoder = build_encoder("efficientnet_lite0", 224, "imagenet")
    trained_on = compute_frame_features(encoder, [path for path, _ in pairs], 224)
    used_on = np.asarray(encoder(np.stack([frame for _, frame in pairs]), training=False))
    relative = np.linalg.norm(trained_on - used_on, axis=1) / np.linalg.norm(used_on, axis=1)
    cosine = (trained_on * used_on).sum(1) / np.linalg.norm(trained_on, axis=1) / np.linalg.norm(used_on, axis=1)
    assert relative.mean() < FEATURE_RELATIVE_DIFFERENCE and cosine.mean() > FEATURE_COSINE, \
        (relative.mean(), cosine.mean())
