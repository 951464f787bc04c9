"""One grouped train/validation/test split against the leaky random-frame split, same model and data.

    python benchmarks/holdout.py --dataset workout4 --model efficientnet_b0 --frames 8 --epochs 8

Trains the model twice on frames of ../shared/data/<dataset>: once on a split by group (no
source on two sides) and once on a random split of frames (frames of one video on both sides,
the protocol of the published projects). Prints frame-level test accuracy with its 95 %
bootstrap interval (resampling groups), and for the grouped split the video-level votes too.
Writes benchmarks/results/holdout_<dataset>_<model>.json. No ImageNet weights (offline).
"""

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from toolkit.config import Config  # noqa: E402
from toolkit.data.frames import extract_frames  # noqa: E402
from toolkit.data.manifest import read_manifest  # noqa: E402
from toolkit.data.splits import naive_frame_split, split_manifest, split_rows  # noqa: E402
from toolkit.evaluation.evaluate import evaluate_frame_classifier  # noqa: E402
from toolkit.training.frame_trainer import train_frame_classifier  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="workout4")
    parser.add_argument("--model", default="custom_cnn")
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=15)
    args = parser.parse_args()
    frames_dir = ROOT / "data" / f"bench_{args.dataset}_{args.frames}"
    extract_frames(ROOT.parent / "shared" / "data" / args.dataset, frames_dir, num_frames=args.frames, progress=False)
    rows = read_manifest(frames_dir)
    class_names = sorted({r["label"] for r in rows})
    config = Config(model_name=args.model, weights=None, image_size=args.image_size, frames_per_video=args.frames,
                    epochs=args.epochs, learning_rate=2e-3 if args.model == "custom_cnn" else 1e-3,
                    early_stopping_patience=5, seed=0)
    result = {"dataset": args.dataset, "model": args.model, "frames": args.frames, "image_size": args.image_size,
              "epochs": args.epochs}
    for protocol in ("grouped", "random_frames"):
        start = time.perf_counter()
        if protocol == "grouped":
            subsets = split_manifest(rows, config.validation_fraction, config.test_fraction, config.seed)
        else:
            subsets = naive_frame_split(rows, config.validation_fraction, config.test_fraction, config.seed)
        run = ROOT / "runs" / "bench" / f"holdout_{args.dataset}_{args.model}_{protocol}"
        model = train_frame_classifier(config, rows, subsets, run, class_names, verbose=2,
                                       check_leakage=protocol == "grouped")
        test = split_rows(rows, subsets)["test"]
        methods = ("majority", "mean") if protocol == "grouped" else ()
        reports = evaluate_frame_classifier(model, test, class_names, config.image_size, methods=methods, out_dir=run)
        result[protocol] = {name: {k: r[k] for k in ("accuracy", "balanced_accuracy", "macro_f1", "samples")}
                            | {"accuracy_ci95": r.get("accuracy_ci95"), "groups": r.get("groups")}
                            for name, r in reports.items()}
        result[protocol]["seconds"] = time.perf_counter() - start
        print(protocol, json.dumps(result[protocol]), flush=True)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"holdout_{args.dataset}_{args.model}.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
