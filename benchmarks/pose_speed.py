"""MoveNet pose extraction speed, Lightning and Thunder, on real frames.

    python benchmarks/pose_speed.py

Decodes 64 frames of a real workout4 clip (640x360) and times MoveNet on them (after a
warm-up), one model at a time: frames per second on this machine.
"""

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from workout_runtime.video import read_frames  # noqa: E402
from toolkit.models.pose import MoveNet  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared"


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    video = sorted((SHARED / "data" / "workout4" / "pull-ups").glob("*.mp4"))[0]
    frames = read_frames(video, 64).frames
    print(f"{len(frames)} frames of {frames.shape[2]}x{frames.shape[1]} from {video.name}")
    for variant in ("lightning", "thunder"):
        encoder = MoveNet(variant, SHARED / "models" / "movenet")
        encoder(frames[:4])
        start = time.perf_counter()
        encoder(frames)
        seconds = time.perf_counter() - start
        print(f"| MoveNet {variant} ({encoder.input_size} px) | {len(frames) / seconds:.1f} frames/s "
              f"({1000 * seconds / len(frames):.1f} ms per frame, letterboxing included) |")


if __name__ == "__main__":
    main()
