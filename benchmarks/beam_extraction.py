"""Extraction throughput: today's thread pool against Apache Beam's DirectRunner with 1 and 2 workers.

    python benchmarks/beam_extraction.py --videos ../shared/data/workout4 --frames 16
    python benchmarks/beam_extraction.py --smoke   # 6 tiny synthetic videos: checks the script runs (CI)

Each configuration extracts every video into a fresh folder (16 frames per video, full size, one group per
video) and is timed end to end (pipeline start-up included). Reports videos per second, the scaling efficiency
of 2 Beam workers over 1, and a projection for 100 000 videos on N workers from the measured per-video cost
(linear scaling assumed). Results: benchmarks/results/beam_extraction_<dataset>.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from workout_runtime.cli import quiet_tensorflow  # noqa: E402

quiet_tensorflow()


def main(argv=None) -> int:
    from toolkit.data.frames import discover_videos, extract_frames

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", default="../shared/data/workout4")
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--smoke", action="store_true",
                        help="tiny synthetic videos in a temporary folder: checks the script runs (CI); no figures")
    args = parser.parse_args(argv)
    work, results_dir = ROOT / "data" / "bench_beam", ROOT / "benchmarks" / "results"
    if args.smoke:
        from smoke import tiny_videos, work_dir

        work = results_dir = work_dir("beam_extraction")
        args.videos, args.frames = str(tiny_videos(work / "videos")), 2
    videos = len(discover_videos(args.videos)[0])
    runs = {"thread pool, 2 threads (default)": dict(workers=2),
            "Beam DirectRunner, 1 worker": dict(runner="direct", workers=1),
            "Beam DirectRunner, 2 workers": dict(runner="direct", workers=2)}
    results = {}
    for name, options in runs.items():
        out = work / name.split(",")[0].replace(" ", "_") / str(options["workers"])
        shutil.rmtree(out, ignore_errors=True)
        started = time.perf_counter()
        report = extract_frames(args.videos, out, num_frames=args.frames, one_group_per_video=True, progress=False,
                                **options)
        seconds = time.perf_counter() - started
        results[name] = {"seconds": round(seconds, 2), "videos_per_second": round(videos / seconds, 2),
                         "frames": report.frames, "failed": len(report.failed)}
        print(name, results[name], flush=True)
    one = results["Beam DirectRunner, 1 worker"]["videos_per_second"]
    two = results["Beam DirectRunner, 2 workers"]["videos_per_second"]
    per_video_s = 1.0 / one
    summary = {"videos": videos, "frames_per_video": args.frames, "results": results,
               "scaling_efficiency_2_workers": round(two / (2 * one), 3),
               "projection_100k_videos_hours": {n: round(100_000 * per_video_s / n / 3600, 2)
                                                for n in (1, 10, 100)},
               "per_video_core_seconds": round(per_video_s, 3)}
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"beam_extraction_{Path(args.videos).name}.json"
    path.write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
