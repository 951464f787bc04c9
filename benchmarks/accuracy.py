"""Accuracy side by side: grouped k-fold CV per model and aggregator, against the leaky protocol.

    python benchmarks/accuracy.py --quick                                   # small check, minutes
    python benchmarks/accuracy.py --datasets workout4 --models custom_cnn efficientnet_b0
    python benchmarks/accuracy.py --datasets pushup_form --group-near-duplicates 10

For each dataset in ../shared/data and each model (no ImageNet weights: they cannot be
downloaded here), runs stratified group k-fold cross-validation (the same folds for every model)
and scores majority vote, mean probability and LSTM at video level, plus frame level. It then
runs the published projects' protocol on the same data: a random, stratified k-fold split of
*frames* (frames of one video on both sides), scored per frame, to show how far leakage inflates
the figure. Results: benchmarks/results/accuracy_<dataset>_<model>.json and a Markdown table
printed at the end (copied into BENCHMARKS.md by hand, with the command).
"""

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402

from toolkit.config import Config  # noqa: E402
from toolkit.data.frames import extract_frames, regroup_by_near_duplicates  # noqa: E402
from toolkit.data.manifest import read_manifest  # noqa: E402
from toolkit.evaluation.cross_validation import METRICS, cross_validate  # noqa: E402
from toolkit.evaluation.metrics import classification_report  # noqa: E402
from toolkit.training.frame_trainer import predict_rows, train_frame_classifier  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def naive_frame_cv(config: Config, rows, out: Path, folds: int, run_folds: int | None = None) -> dict:
    """The leaky protocol: stratified k-fold over frames, scored per frame (the first `run_folds` folds)."""
    labels = np.array([r["label"] for r in rows])
    class_names = sorted(set(labels))
    scores = {m: [] for m in METRICS}
    splitter = StratifiedKFold(folds, shuffle=True, random_state=config.seed)
    rng = np.random.default_rng(config.seed)
    for k, (_, test_idx) in enumerate(splitter.split(np.zeros(len(rows)), labels)):
        if run_folds is not None and k >= run_folds:
            break
        done = out / f"naive_fold_{k}.json"
        if done.is_file():
            report = json.loads(done.read_text())
        else:
            subsets = np.full(len(rows), "train", dtype=object)
            subsets[test_idx] = "test"
            train_idx = np.flatnonzero(subsets == "train")
            subsets[rng.choice(train_idx, int(config.validation_fraction * len(rows)), replace=False)] = "validation"
            model = train_frame_classifier(config, rows, subsets.astype(str), out / f"naive_fold_{k}", class_names,
                                           verbose=0, check_leakage=False)
            test_rows = [rows[i] for i in test_idx]
            predictions = predict_rows(model, test_rows, class_names, config.image_size, config.batch_size)
            report = classification_report(predictions.labels, predictions.probabilities.argmax(1), class_names)
            done.write_text(json.dumps(report))
        for m in METRICS:
            scores[m].append(report[m])
    summary = {f"{m}_{s}": float(f(np.array(v))) for m, v in scores.items()
               for s, f in (("mean", np.mean), ("std", lambda a: a.std(ddof=1) if len(a) > 1 else 0.0))}
    summary["folds_run"] = len(scores["accuracy"])
    return summary


def frames_for(dataset: str, frames: int, near_duplicates: int | None) -> Path:
    suffix = "" if near_duplicates is None else f"_nd{near_duplicates}"
    out = ROOT / "data" / f"bench_{dataset}_{frames}{suffix}"
    report = extract_frames(SHARED / dataset, out, num_frames=frames, progress=False)
    if near_duplicates is not None:
        regroup_by_near_duplicates(report.manifest, near_duplicates)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["workout4", "pushup_form"])
    parser.add_argument("--models", nargs="+", default=["custom_cnn", "efficientnet_b0"])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--frames", type=int, default=16, help="frames per video")
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--group-near-duplicates", type=int, default=None,
                        help="infer groups from near-duplicate frames (for datasets without groups)")
    parser.add_argument("--no-naive", action="store_true", help="skip the leaky frame-split protocol")
    parser.add_argument("--naive-folds", type=int, default=None,
                        help="run only the first N folds of the leaky protocol (it scores ~1.0 on every fold; "
                             "each fold is a full training run)")
    parser.add_argument("--quick", action="store_true", help="2 folds, 2 epochs, 4 frames, 64 px")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args()
    if args.quick:
        args.folds, args.epochs, args.frames, args.image_size = 2, 2, 4, 64
    results_dir = Path(args.out)
    results_dir.mkdir(parents=True, exist_ok=True)
    table = []
    for dataset in args.datasets:
        frames_dir = frames_for(dataset, args.frames, args.group_near_duplicates)
        rows = read_manifest(frames_dir)
        for model_name in args.models:
            config = Config(model_name=model_name, weights=None, image_size=args.image_size,
                            frames_per_video=args.frames, epochs=args.epochs, batch_size=32,
                            learning_rate=2e-3 if model_name == "custom_cnn" else 1e-3,
                            early_stopping_patience=5, lstm_epochs=60, folds=args.folds, seed=0)
            tag = f"{dataset}_{model_name}" + ("_quick" if args.quick else "")
            work = ROOT / "runs" / "bench" / tag
            start = time.perf_counter()
            summary = cross_validate(config, rows, work / "grouped", args.folds, vote_methods=("majority", "mean"),
                                     verbose=0)
            result = {"dataset": dataset, "model": model_name, "folds": args.folds, "frames": args.frames,
                      "image_size": args.image_size, "epochs": args.epochs,
                      "groups": "near-duplicate clusters" if args.group_near_duplicates is not None else "manifest",
                      "grouped": summary, "grouped_seconds": time.perf_counter() - start}
            if not args.no_naive:
                start = time.perf_counter()
                result["naive_frames"] = naive_frame_cv(config, rows, work / "naive", args.folds, args.naive_folds)
                result["naive_seconds"] = time.perf_counter() - start
            (results_dir / f"accuracy_{tag}.json").write_text(json.dumps(result, indent=2))
            table.append(result)
            print(f"finished {tag}", flush=True)
    print("\n| dataset | model | protocol | aggregator | accuracy | balanced accuracy | macro-F1 |")
    print("|---|---|---|---|---|---|---|")
    for r in table:
        for row in r["grouped"]:
            cells = " | ".join(f"{row[f'{m}_mean']:.3f} ± {row[f'{m}_std']:.3f}" for m in METRICS)
            print(f"| {r['dataset']} | {r['model']} | grouped {r['folds']}-fold | {row['aggregator']} | {cells} |")
        if "naive_frames" in r:
            n = r["naive_frames"]
            cells = " | ".join(f"{n[f'{m}_mean']:.3f} ± {n[f'{m}_std']:.3f}" for m in METRICS)
            print(f"| {r['dataset']} | {r['model']} | random frames, {n['folds_run']} of {r['folds']} folds (leaky) "
                  f"| frame | {cells} |")


if __name__ == "__main__":
    main()
