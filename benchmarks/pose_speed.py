"""MoveNet pose extraction speed, Lightning and Thunder, on real frames.

    python benchmarks/pose_speed.py
    python benchmarks/pose_speed.py --smoke   # 4 synthetic frames: checks the script runs (CI), no figures

Decodes 64 frames of a real workout4 clip (640x360) and times each MoveNet encoder (keypoints and the 64 pose
features, letterboxing included) on them after a warm-up, one model at a time: frames per second on this
machine. The models come from ../shared/models/movenet, else the user's cache (recipes/fetch_pose_models.py).
"""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
SHARED = ROOT.parent / "shared"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true",
                        help="4 frames of a tiny synthetic video: checks the script runs (CI); no figures")
    args = parser.parse_args(argv)
    from toolkit.models.inference import GraphPredictor
    from toolkit.models.movenet_files import default_pose_model_dir
    from toolkit.models.registry import build_encoder
    from workout_runtime.video import read_frames

    models = SHARED / "models" / "movenet"
    if not (models / "movenet-lightning.json").is_file():
        models = default_pose_model_dir()
    if args.smoke:
        from smoke import tiny_videos, work_dir

        video = next(tiny_videos(work_dir("pose_speed") / "videos", ("squat",), 1).rglob("*.mp4"))
        frames = read_frames(video, 4).frames
    else:
        video = sorted((SHARED / "data" / "workout4" / "pull-ups").glob("*.mp4"))[0]
        frames = read_frames(video, 64).frames
    print(f"{len(frames)} frames of {frames.shape[2]}x{frames.shape[1]} from {video.name}")
    for variant in ("lightning", "thunder"):
        encoder = GraphPredictor(build_encoder(f"movenet_{variant}", pose_model_dir=models))
        encoder(frames[:4])  # warm-up: traces the graph
        start = time.perf_counter()
        encoder(frames)
        seconds = time.perf_counter() - start
        print(f"| MoveNet {variant} | {len(frames) / seconds:.1f} frames/s "
              f"({1000 * seconds / len(frames):.1f} ms per frame, letterboxing and pose features included) |")


if __name__ == "__main__":
    main()
