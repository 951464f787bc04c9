"""Stream latency and whether a run keeps up with a 30 fps source (BENCHMARKS.md, "Streams").

    python benchmarks/stream.py --run runs/quickstart --run data/bench_repetitions/form_runs/...fold_0 \
        --seconds 60 --stride 1 --window 4
    python benchmarks/stream.py --smoke   # a run trained for a moment, a 5 s stream (CI); no figures

A 640x480, 30 fps test video of --seconds is written (synthetic figures), then played in real time through
workout_runtime.stream exactly as classify_stream.py does. For each run: the median and 95th percentile
latency (newest frame captured -> verdict ready), and the lag at the end (how far the verdicts fell behind
the stream; near 0 means it keeps up). Results: benchmarks/results/stream.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from workout_runtime.cli import quiet_tensorflow  # noqa: E402

quiet_tensorflow()


def synthetic_clip(path: Path, seconds: float, seed: int = 3) -> Path:
    """A 640x480, 30 fps synthetic squat video of `seconds` (2 s a repetition), rendered once."""
    import shutil

    from toolkit.data.synthetic import SyntheticConfig, generate_dataset

    if path.is_file():
        return path
    source = path.parent / f"{path.stem}_source"
    generate_dataset(source, SyntheticConfig(classes=("squat",), videos_per_class=1,
                                             reps_range=(int(seconds // 2),) * 2, rep_seconds_range=(2.0, 2.0),
                                             max_duration_s=seconds, fps_choices=(30,), resolutions=((640, 480),),
                                             seed=seed), progress=False)
    shutil.copy(next(source.glob("squat/*.mp4")), path)
    return path


def measure(run: str, video: Path, window: float, stride: float) -> dict:
    from toolkit.temporal.inference import VideoClassifier
    from workout_runtime.stream import frames_of, rolling_verdicts

    classifier = VideoClassifier.from_run(run, "vote")
    classifier.classify_frames(np.zeros((classifier.num_frames, 480, 640, 3), np.uint8))  # trace once
    started = time.monotonic()
    latencies, lags = [], []
    for verdict in rolling_verdicts(classifier, frames_of(str(video), realtime=True), window, stride):
        latencies.append(verdict.latency_s)
        lags.append(time.monotonic() - started - verdict.window_end_s)
    wall = time.monotonic() - started
    return {"run": run, "model": classifier.description, "verdicts": len(latencies),
            "latency_median_ms": round(1000 * float(np.median(latencies)), 1),
            "latency_p95_ms": round(1000 * float(np.percentile(latencies, 95)), 1),
            "lag_at_end_s": round(float(lags[-1]), 3), "wall_s": round(wall, 1)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", action="append", help="a run folder (repeat for several)")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--window", type=float, default=4.0)
    parser.add_argument("--stride", type=float, default=1.0)
    parser.add_argument("--smoke", action="store_true",
                        help="a run trained for a moment on tiny synthetic videos and a 5 s stream, in a temporary "
                             "folder (CI); no figures")
    args = parser.parse_args(argv)
    clips, out = ROOT / "data" / "bench_stream", ROOT / "benchmarks" / "results" / "stream.json"
    if args.smoke:
        from smoke import tiny_trained_run

        run = tiny_trained_run("stream")
        args.run, args.seconds, args.window, args.stride = [str(run)], 5.0, 2.0, 1.0
        clips, out = run.parent, run.parent / "stream.json"
    elif not args.run:
        parser.error("--run is required (or --smoke)")
    video = synthetic_clip(clips / f"stream_{args.seconds:g}s.mp4", args.seconds)
    results = [measure(run, video, args.window, args.stride) for run in args.run]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"settings": vars(args), "results": results}, indent=2))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
