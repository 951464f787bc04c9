"""MoveNet pose + LSTM / voting on real workout videos, grouped 5-fold cross-validation.

    python benchmarks/pose_workout.py --dataset workout4 --model lightning
    python benchmarks/pose_workout.py --dataset pushup_form --group-near-duplicates 10

Runs MoveNet (../shared/models/movenet, Lightning or Thunder) on 16 frames per video (frames
extracted as in benchmarks/accuracy.py, keypoints cached), turns keypoints into pose features,
and scores, per grouped fold (the same folds as benchmarks/accuracy.py: seed 0), the LSTM
sequence head and a per-frame classifier with mean-probability voting, at video level.
Also reports MoveNet's frames per second. Writes benchmarks/results/pose_<dataset>_<model>.json.
"""

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from toolkit.data.frames import extract_frames, regroup_by_near_duplicates  # noqa: E402
from toolkit.data.manifest import read_manifest, rows_by_video  # noqa: E402
from toolkit.data.splits import kfold_manifest  # noqa: E402
from toolkit.evaluation.metrics import classification_report  # noqa: E402
from toolkit.models.pose import MoveNet  # noqa: E402
from toolkit.temporal.pose_sequences import (extract_pose_sequences, frame_vote_probabilities,  # noqa: E402
                                             pose_feature_arrays)
from toolkit.training.video_trainer import train_sequence_head  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def vote_predictions(train, test, classes: int, seed: int) -> np.ndarray:
    counts = np.bincount(train["labels"], minlength=classes).astype(float)
    weights = {i: float(counts.sum() / (classes * c)) if c else 0.0 for i, c in enumerate(counts)}
    return frame_vote_probabilities(train["features"], train["labels"], test["features"], classes, hidden=64,
                                    dropout=0.3, batch_size=64, epochs=40, class_weight=weights, seed=seed).argmax(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="workout4")
    parser.add_argument("--model", default="lightning", choices=("lightning", "thunder"))
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--group-near-duplicates", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    suffix = "" if args.group_near_duplicates is None else f"_nd{args.group_near_duplicates}"
    frames_dir = ROOT / "data" / f"bench_{args.dataset}_{args.frames}{suffix}"
    report = extract_frames(SHARED / "data" / args.dataset, frames_dir, num_frames=args.frames, progress=False)
    if args.group_near_duplicates is not None:
        regroup_by_near_duplicates(report.manifest, args.group_near_duplicates)
    rows = read_manifest(frames_dir)
    encoder = MoveNet(args.model, SHARED / "models" / "movenet")
    start = time.perf_counter()
    sequences = extract_pose_sequences(encoder, rows, frames_dir / "pose_cache")
    pose_s = time.perf_counter() - start
    videos = rows_by_video(rows)
    class_names = sorted({r["label"] for r in rows})
    index = {c: i for i, c in enumerate(class_names)}
    group_of = {v: f[0]["group"] for v, f in videos.items()}
    per_fold = {"lstm": [], "vote": []}
    for k, subsets in enumerate(kfold_manifest(rows, args.folds, args.seed, 0.15)):
        side = {}
        for r, s in zip(rows, subsets):
            side[r["video_id"]] = s
        data = {}
        for name in ("train", "validation", "test"):
            ids = sorted(v for v, s in side.items() if s == name)
            data[name] = pose_feature_arrays(sequences, ids, [index[videos[v][0]["label"]] for v in ids], args.frames)
        head = train_sequence_head(data["train"], data["validation"] if len(data["validation"]["labels"]) else None,
                                   len(class_names), units=64, epochs=80, patience=15, seed=args.seed + k)
        test = data["test"]
        groups = [group_of[v] for v in test["video_ids"]]
        lstm = classification_report(test["labels"], head.predict(test["features"], verbose=0).argmax(1),
                                     class_names, groups)
        train_all = {key: np.concatenate([data["train"][key], data["validation"][key]]) for key in ("features", "labels")}
        vote = classification_report(test["labels"], vote_predictions(train_all, test, len(class_names), args.seed + k),
                                     class_names, groups)
        per_fold["lstm"].append(lstm)
        per_fold["vote"].append(vote)
        print(f"fold {k}: lstm {lstm['accuracy']:.3f}, vote {vote['accuracy']:.3f} on {len(test['labels'])} videos",
              flush=True)
    summary = {}
    for name, reports in per_fold.items():
        summary[name] = {m: {"mean": float(np.mean([r[m] for r in reports])),
                             "std": float(np.std([r[m] for r in reports], ddof=1))}
                         for m in ("accuracy", "balanced_accuracy", "macro_f1")}
    frames_total = sum(len(s) for s in sequences.values())
    result = {"dataset": args.dataset, "model": args.model, "folds": args.folds, "frames": args.frames,
              "groups": "near-duplicate clusters" if args.group_near_duplicates is not None else "manifest",
              "summary": summary, "pose_seconds_uncached": pose_s, "frames_posed": frames_total}
    bench = np.random.default_rng(0).integers(0, 255, (32, 360, 640, 3), dtype=np.uint8)
    encoder(bench[:2])
    start = time.perf_counter()
    encoder(bench)
    result["movenet_frames_per_s_360p"] = 32 / (time.perf_counter() - start)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"pose_{args.dataset}_{args.model}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
