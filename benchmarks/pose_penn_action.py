"""Pose sequence classifiers on Penn Action's official split, from the hand-labelled joints.

    python benchmarks/pose_penn_action.py            # about 2 minutes on 2 cores

Loads the 2326 annotated sequences in ../shared/data/penn_action_keypoints (13 joints mapped
onto MoveNet's 17-keypoint layout), turns each into pose features (hip-centred,
torso-normalised, mirror-invariant coordinates, visibility, velocities) at 32 frames sampled
uniformly, trains the toolkit's LSTM sequence head on the official train split (10 % of it held
out for early stopping) and scores the official test split: all 15 actions, and the 8 exercise
classes on their own (the 15-way model restricted to them, and a model trained on them alone).
A per-frame classifier with mean-probability voting over the same features is the baseline.
Writes benchmarks/results/pose_penn_action.json.
"""

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from toolkit.data.penn_action import EXERCISE_ACTIONS, load_penn_action  # noqa: E402
from toolkit.evaluation.metrics import classification_report  # noqa: E402
from toolkit.models.pose_features import pose_features, sample_uniform  # noqa: E402
from toolkit.temporal.pose_sequences import frame_vote_probabilities  # noqa: E402
from toolkit.training.video_trainer import train_sequence_head  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def frame_vote_accuracy(train_x, train_y, test_x, test_y, classes: int, seed: int) -> float:
    """Per-frame softmax classifier on the same features, mean-probability vote per sequence."""
    pooled = frame_vote_probabilities(train_x, train_y, test_x, classes, hidden=128, batch_size=256, epochs=15,
                                      seed=seed)
    return float((pooled.argmax(1) == test_y).mean())


def run(sequences, classes, frames, seed, epochs, units=128, mirror=True):
    index = {c: i for i, c in enumerate(classes)}
    chosen = [s for s in sequences if s["action"] in index]
    x = np.stack([sample_uniform(pose_features(s["keypoints"], mirror_invariant=mirror), frames) for s in chosen])
    y = np.array([index[s["action"]] for s in chosen], dtype=np.int32)
    train = np.array([s["train"] for s in chosen])
    rng = np.random.default_rng(seed)
    train_idx = np.flatnonzero(train)
    val_idx = rng.choice(train_idx, len(train_idx) // 10, replace=False)
    fit_idx = np.setdiff1d(train_idx, val_idx)
    test_idx = np.flatnonzero(~train)
    start = time.perf_counter()
    head = train_sequence_head({"features": x[fit_idx], "labels": y[fit_idx]},
                               {"features": x[val_idx], "labels": y[val_idx]}, len(classes), units=units,
                               epochs=epochs, learning_rate=2e-3, batch_size=32, patience=10, seed=seed)
    seconds = time.perf_counter() - start
    predictions = head.predict(x[test_idx], verbose=0).argmax(1)
    report = classification_report(y[test_idx], predictions, classes)
    vote = frame_vote_accuracy(x[fit_idx], y[fit_idx], x[test_idx], y[test_idx], len(classes), seed)
    return report, predictions, y[test_idx], vote, seconds, (len(fit_idx), len(val_idx), len(test_idx))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=80)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--no-mirror", action="store_true", help="keep left and right as filmed")
    args = parser.parse_args()
    start = time.perf_counter()
    sequences = load_penn_action(ROOT.parent / "shared" / "data" / "penn_action_keypoints")
    load_s = time.perf_counter() - start
    all_classes = sorted({s["action"] for s in sequences})
    report, predictions, truth, vote, seconds, sizes = run(sequences, all_classes, args.frames, args.seed, args.epochs,
                                                          args.units, not args.no_mirror)
    exercise = np.isin(np.array(all_classes)[truth], EXERCISE_ACTIONS)
    restricted = float((predictions[exercise] == truth[exercise]).mean())
    ex_report, _, _, ex_vote, ex_seconds, ex_sizes = run(sequences, list(EXERCISE_ACTIONS), args.frames, args.seed,
                                                         args.epochs, args.units, not args.no_mirror)
    result = {"sequences": len(sequences), "load_s": load_s, "frames": args.frames, "units": args.units,
              "mirror_invariant": not args.no_mirror,
              "all15": {"accuracy": report["accuracy"], "balanced_accuracy": report["balanced_accuracy"],
                        "macro_f1": report["macro_f1"], "frame_vote_accuracy": vote, "train_s": seconds,
                        "fit_val_test": sizes,
                        "per_class_recall": {k: v["recall"] for k, v in report["per_class"].items()}},
              "exercise8_within_15way": restricted,
              "exercise8": {"accuracy": ex_report["accuracy"], "balanced_accuracy": ex_report["balanced_accuracy"],
                            "macro_f1": ex_report["macro_f1"], "frame_vote_accuracy": ex_vote, "train_s": ex_seconds,
                            "fit_val_test": ex_sizes}}
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "pose_penn_action.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
