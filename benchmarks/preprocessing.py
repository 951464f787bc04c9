"""How far training's pixels are from inference's: extracted JPEG frames through the training pipeline against the
frames `classify_video` decodes, with today's preprocessing and with the one before version 0.5.

    python benchmarks/preprocessing.py                  # 6 workout4 clips, 8 frames each, EfficientNet-Lite0
    python benchmarks/preprocessing.py --smoke          # 2 tiny synthetic videos: checks the script runs (CI)

Each clip's frames are written as JPEGs the way extraction writes them (`--jpeg-quality`, default extraction's
92), then read back by (a) today's training pipeline (`toolkit.data.pipeline.decode_and_resize`: the accurate
JPEG DCT and `workout_runtime.frame_geometry.resize_frame`) and (b) the previous one (TensorFlow's default fast DCT and
its own area resize), and compared with the same frames decoded from the video at the model's size
(`read_frames(size=224)`, what `classify_video` does): mean absolute difference in grey levels, and the
encoder's features' relative L2 difference and cosine similarity. tests/test_preprocessing.py holds (a) within
stated tolerances.
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from workout_runtime.cli import quiet_tensorflow  # noqa: E402

quiet_tensorflow()


def previous_decode_and_resize(path, size: int):
    """Version 0.4's training preprocessing: TensorFlow's default JPEG decoding and area resize."""
    import tensorflow as tf

    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    image = tf.image.resize(image, (size, size), method="area")
    return tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)


def main(argv=None) -> int:
    import cv2
    import numpy as np
    import tensorflow as tf

    from toolkit.data.pipeline import decode_and_resize
    from toolkit.models.registry import build_encoder
    from workout_runtime.sampling import read_frames

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=6, help="workout4 clips, every 13th (default 6)")
    parser.add_argument("--frames", type=int, default=8, help="frames per clip")
    parser.add_argument("--size", type=int, default=224, help="the model's input side")
    parser.add_argument("--jpeg-quality", type=int, default=92, help="extraction's JPEG quality (default 92)")
    parser.add_argument("--smoke", action="store_true", help="2 tiny synthetic videos (CI); no figures")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="preprocessing_"))
    if args.smoke:
        from smoke import tiny_videos

        videos = sorted(str(p) for p in tiny_videos(work / "videos", ("squat",), 2).rglob("*.mp4"))
        args.frames, args.size = 3, 48
    else:
        videos = sorted(glob.glob(str(ROOT.parent / "shared" / "data" / "workout4" / "*" / "*.mp4")))[::13]
        videos = videos[:args.clips]
    encoder = build_encoder("efficientnet_lite0", args.size, "imagenet")
    paths = {"today (accurate DCT, resize_frame)": lambda p: decode_and_resize(tf.constant(p), args.size),
             "before version 0.5 (fast DCT, TensorFlow area resize)":
                 lambda p: previous_decode_and_resize(tf.constant(p), args.size)}
    found = {name: {"grey_levels": [], "relative": [], "cosine": []} for name in paths}
    for video in videos:
        full = read_frames(video, args.frames).frames
        used = read_frames(video, args.frames, size=args.size).frames
        used_features = np.asarray(encoder(used, training=False))
        files = []
        for k, frame in enumerate(full):
            files.append(str(work / f"frame_{k}.jpg"))
            cv2.imwrite(files[-1], cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, args.jpeg_quality])
        for name, read in paths.items():
            trained = np.stack([np.asarray(read(f)) for f in files])
            features = np.asarray(encoder(trained, training=False))
            found[name]["grey_levels"].append(float(np.abs(trained.astype(float) - used).mean()))
            found[name]["relative"] += list(np.linalg.norm(features - used_features, axis=1)
                                            / np.linalg.norm(used_features, axis=1))
            found[name]["cosine"] += list((features * used_features).sum(1) / np.linalg.norm(features, axis=1)
                                          / np.linalg.norm(used_features, axis=1))
    summary = {name: {"mean_grey_levels": float(np.mean(v["grey_levels"])),
                      "feature_relative_difference": float(np.mean(v["relative"])),
                      "feature_cosine": float(np.mean(v["cosine"]))} for name, v in found.items()}
    print(f"{len(videos)} clips x {args.frames} frames, JPEG quality {args.jpeg_quality}, EfficientNet-Lite0 at "
          f"{args.size} px")
    print("| training pipeline | grey levels from inference's pixels | Lite0 features: relative difference | cosine |")
    print("|---|---|---|---|")
    for name, s in summary.items():
        print(f"| {name} | {s['mean_grey_levels']:.2f} | {s['feature_relative_difference']:.3f} | "
              f"{s['feature_cosine']:.4f} |")
    if not args.smoke:
        out = ROOT / "benchmarks" / "results" / "preprocessing.json"
        out.write_text(json.dumps({"clips": videos, "settings": vars(args), "summary": summary}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
