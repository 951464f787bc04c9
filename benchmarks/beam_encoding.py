"""Encoding throughput: the in-process feature cache against the Beam encoding stage with 1 and 2 workers.

    python recipes/extract_frames.py --videos ../shared/data/pushup_form --out data/frames_pushup_form \
        --group-near-duplicates 10
    python benchmarks/beam_encoding.py --frames data/frames_pushup_form --model-name movenet_lightning
    python benchmarks/beam_encoding.py --smoke   # tiny synthetic frames: checks the script runs (CI); no figures

Each configuration encodes every frame of the folder into a fresh cache folder and is timed end to end (the
encoder's build and the pipeline's start-up included): `FeatureCache.get` in this process (what training does
without the stage), then `encode_frames` on DirectRunner with 1 and with 2 worker processes. Reports frames per
second, the 2 workers' scaling over 1, the largest feature difference to the in-process cache, and a projection
to 100 000 videos of 16 frames on 1, 10 and 100 workers from the measured cost per frame with one worker (linear
scaling assumed: each worker a machine like this one). Results: benchmarks/results/beam_encoding_<frames>.json.
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
    import numpy as np

    from toolkit.data.manifest import read_manifest
    from toolkit.training.encoding_pipeline import EncoderSpec, encode_frames

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", default="data/frames_pushup_form", help="a frame folder (extract_frames.py)")
    parser.add_argument("--model-name", default="movenet_lightning", help="a pretrained, frozen encoder")
    parser.add_argument("--image-size", type=int, default=224, help="pixel encoders' input side")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny synthetic frames in a temporary folder: checks the script runs (CI); no figures")
    args = parser.parse_args(argv)
    work, results_dir = ROOT / "data" / "bench_encoding", ROOT / "benchmarks" / "results"
    if args.smoke:
        from smoke import tiny_frames, tiny_videos, work_dir

        work = results_dir = work_dir("beam_encoding")
        args.frames = str(tiny_frames(work / "frames", tiny_videos(work / "videos"), 2))
        args.model_name, args.image_size = "efficientnet_lite0", 48
    rows = read_manifest(args.frames)
    spec = EncoderSpec(args.model_name, args.image_size, "imagenet")
    frames = len(rows)
    print(f"{frames} frames of {len({r['video_id'] for r in rows})} videos in {args.frames}, {args.model_name}")
    results, features = {}, {}
    runs = {"in process (FeatureCache.get)": None, "Beam DirectRunner, 1 worker": 1, "Beam DirectRunner, 2 workers": 2}
    for name, workers in runs.items():
        cache_dir = work / f"cache_{workers or 0}"
        shutil.rmtree(cache_dir, ignore_errors=True)
        started = time.perf_counter()
        if workers is None:
            cache = spec.cache(cache_dir)
            encoder = spec.build()
            computed = cache.get(encoder, rows, progress=False)
            failed = 0
        else:
            report = encode_frames(rows, spec, cache_dir, runner="direct", workers=workers)
            seconds = time.perf_counter() - started  # the stage alone; reading the shards back is not its cost
            failed = len(report.failed)
            computed = spec.cache(cache_dir).get(spec.build(), rows, progress=False)
        seconds = seconds if workers else time.perf_counter() - started
        features[name] = np.stack([computed[r.get("abs_path", r["path"])] for r in rows])
        results[name] = {"seconds": round(seconds, 1), "frames_per_second": round(frames / seconds, 1),
                         "failed_videos": failed,
                         "largest_difference_to_in_process": float(np.abs(features[name] - features[
                             "in process (FeatureCache.get)"]).max())}
        print(name, results[name], flush=True)
    one = results["Beam DirectRunner, 1 worker"]["frames_per_second"]
    two = results["Beam DirectRunner, 2 workers"]["frames_per_second"]
    frames_100k = 100_000 * 16
    summary = {"frames": frames, "model_name": args.model_name, "results": results,
               "scaling_2_workers_over_1": round(two / one, 2),
               "projection_100k_videos_of_16_frames_hours": {n: round(frames_100k / one / n / 3600, 2)
                                                             for n in (1, 10, 100)}}
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"beam_encoding_{Path(args.frames).name}.json"
    path.write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
