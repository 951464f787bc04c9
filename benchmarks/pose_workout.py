"""MoveNet pose + LSTM / voting on real workout videos, grouped 5-fold cross-validation.

    python benchmarks/pose_workout.py --dataset workout4 --model lightning
    python benchmarks/pose_workout.py --dataset pushup_form --group-near-duplicates 10

Runs exactly what `recipes/cross_validate.py --model-name movenet_<model>` runs: MoveNet
(../shared/models/movenet) on 16 frames per video (frames extracted as in
benchmarks/accuracy.py, keypoints cached), pose features, and per grouped fold (the same folds as
benchmarks/accuracy.py: seed 0) the per-frame pose classifier pooled by majority and mean vote
and the pose LSTM, at video level. Also reports MoveNet's frames per second.
Writes benchmarks/results/pose_<dataset>_<model>.json.
"""

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from toolkit.config import Config  # noqa: E402
from toolkit.data.frames import extract_frames, regroup_by_near_duplicates  # noqa: E402
from toolkit.data.manifest import read_manifest  # noqa: E402
from toolkit.evaluation.cross_validation import cross_validate  # noqa: E402
from toolkit.training.pose_trainer import load_pose_encoder, pose_sequences_for  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="workout4")
    parser.add_argument("--model", default="lightning", choices=("lightning", "thunder"))
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--group-near-duplicates", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lstm-epochs", type=int, default=80)
    args = parser.parse_args()
    suffix = "" if args.group_near_duplicates is None else f"_nd{args.group_near_duplicates}"
    frames_dir = ROOT / "data" / f"bench_{args.dataset}_{args.frames}{suffix}"
    report = extract_frames(SHARED / "data" / args.dataset, frames_dir, num_frames=args.frames, progress=False)
    if args.group_near_duplicates is not None:
        regroup_by_near_duplicates(report.manifest, args.group_near_duplicates)
    rows = read_manifest(frames_dir)
    config = Config(model_name=f"movenet_{args.model}", pose_model_dir=str(SHARED / "models" / "movenet"),
                    frames_per_video=args.frames, lstm_epochs=args.lstm_epochs, lstm_units=64, batch_size=64,
                    learning_rate=1e-3, dropout=0.3, early_stopping_patience=15, folds=args.folds, seed=args.seed)
    cache = frames_dir / "pose_cache"
    start = time.perf_counter()
    sequences = pose_sequences_for(config, rows, cache)  # timed apart from training: cached afterwards
    pose_s = time.perf_counter() - start
    out = ROOT / "runs" / "bench" / f"pose_{args.dataset}_{args.model}"
    start = time.perf_counter()
    summary = cross_validate(config, rows, out, vote_methods=("majority", "mean"), verbose=0, pose_cache_dir=cache)
    result = {"dataset": args.dataset, "model": args.model, "folds": args.folds, "frames": args.frames,
              "groups": "near-duplicate clusters" if args.group_near_duplicates is not None else "manifest",
              "summary": summary, "cv_seconds": time.perf_counter() - start,
              "pose_seconds_first_run": pose_s, "frames_posed": sum(len(s) for s in sequences.values())}
    encoder = load_pose_encoder(config.model_name, config.pose_model_dir)
    bench = np.random.default_rng(0).integers(0, 255, (32, 360, 640, 3), dtype=np.uint8)
    encoder(bench[:2])
    start = time.perf_counter()
    encoder(bench)
    result["movenet_frames_per_s_360p"] = 32 / (time.perf_counter() - start)
    results = ROOT / "benchmarks" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / f"pose_{args.dataset}_{args.model}.json").write_text(json.dumps(result, indent=2))
    print((out / "summary.md").read_text())
    print(json.dumps({k: v for k, v in result.items() if k != "summary"}, indent=2))


if __name__ == "__main__":
    main()
