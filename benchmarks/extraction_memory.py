"""Peak memory of frame extraction against video length (issue: memory must not grow with the video).

    python benchmarks/extraction_memory.py --minutes 20 --every-seconds 0.5
    python benchmarks/extraction_memory.py --smoke   # 2 s and 3 s videos in a temporary folder (CI)

Writes two 1920x1080 videos (10 frames a second, a moving figure on a textured background; the frame rate
changes decoding time, not memory): 10 s and --minutes long. Each is extracted by recipes/extract_frames.py
at --every-seconds without --size (full-size JPEGs) in a fresh process, whose peak resident memory is read
from the kernel (ru_maxrss of the child). Results: benchmarks/results/extraction_memory.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "data" / "bench_extraction_memory"


def write_video(path: Path, seconds: float, fps: int = 10) -> Path:
    import cv2

    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (1920, 1080))
    rng = np.random.default_rng(0)
    background = (rng.integers(0, 255, (1080 // 8, 1920 // 8, 3), dtype=np.uint8)
                  .repeat(8, axis=0).repeat(8, axis=1))
    for i in range(int(seconds * fps)):
        frame = background.copy()
        x = int(960 + 600 * np.sin(i / 20))
        cv2.rectangle(frame, (x - 80, 300), (x + 80, 900), (40, 200, 90), -1)
        cv2.circle(frame, (x, 230), 70, (230, 180, 150), -1)
        writer.write(frame)
    writer.release()
    return path


def extract_peak_mb(video: Path, every_seconds: float) -> tuple[float, float, int]:
    """(peak RSS of the extraction process in MB, seconds, frames written)."""
    videos = video.parent / f"videos_{video.stem}"
    out = video.parent / f"frames_{video.stem}"
    shutil.rmtree(videos, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    (videos / "clip").mkdir(parents=True)
    (videos / "clip" / video.name).symlink_to(video)
    (videos / "other").mkdir()
    (videos / "other" / video.name).symlink_to(video)  # a dataset needs two classes
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run([sys.executable, str(ROOT / "recipes" / "extract_frames.py"), "--videos", str(videos),
                    "--out", str(out), "--every-seconds", str(every_seconds), "--one-group-per-video",
                    "--workers", "1"], check=True, cwd=ROOT, capture_output=True)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if peak <= before:
        raise RuntimeError("ru_maxrss did not move: run each measurement in a fresh interpreter")
    frames = sum(1 for _ in out.rglob("*.jpg"))
    return peak / 1024, time.perf_counter() - started, frames


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--every-seconds", type=float, default=0.5)
    parser.add_argument("--smoke", action="store_true",
                        help="2 s and 3 s videos in a temporary folder: checks the script runs (CI); no figures")
    parser.add_argument("--which", choices=("short", "long"), help=argparse.SUPPRESS)
    parser.add_argument("--work", default=str(WORK), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    work, results_dir = Path(args.work), ROOT / "benchmarks" / "results"
    short_s = 10.0
    if args.smoke:
        import tempfile

        if not args.which:
            work = results_dir = Path(tempfile.mkdtemp(prefix="smoke_extraction_memory_"))
        args.minutes, short_s = 0.05, 2.0
    if args.which:  # one measurement per interpreter: ru_maxrss of children is a maximum over all of them
        video = write_video(work / ("short.mp4" if args.which == "short" else f"long_{args.minutes:g}min.mp4"),
                            short_s if args.which == "short" else 60 * args.minutes)
        peak, seconds, frames = extract_peak_mb(video, args.every_seconds)
        print(json.dumps({"video": video.name, "peak_mb": round(peak, 1), "seconds": round(seconds, 1),
                          "frames": frames}))
        return 0
    results = []
    for which in ("short", "long"):
        out = subprocess.run([sys.executable, __file__, "--minutes", str(args.minutes), "--every-seconds",
                              str(args.every_seconds), "--which", which, "--work", str(work)]
                             + (["--smoke"] if args.smoke else []), check=True, capture_output=True, text=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    report = {"settings": {"minutes": args.minutes, "every_seconds": args.every_seconds, "size": "1920x1080",
                           "fps": 10, "workers": 1},
              "results": results, "difference_mb": round(results[1]["peak_mb"] - results[0]["peak_mb"], 1)}
    path = results_dir / "extraction_memory.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
