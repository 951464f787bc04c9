"""Evaluate a saved run on its own test split, or on another frame folder.

    python recipes/evaluate.py --run runs/quickstart                       # the run's test split
    python recipes/evaluate.py --run runs/quickstart --frames data/other   # every video of another folder

Prints and saves (into the run folder, or --out) accuracy with a 95 % bootstrap interval that
resamples whole groups, balanced accuracy, macro-F1 and per-class precision/recall/F1, at frame
level and at video level for each vote method, plus confusion-matrix PNGs with class names.
A pose run (movenet_*) is scored the same way, plus its LSTM; the keypoints of the frames are
cached in <frames>/pose_cache/.
"""

import json
import sys
from pathlib import Path

from toolkit.cli import make_parser, quiet_tensorflow

quiet_tensorflow()

import keras  # noqa: E402

from toolkit.data.manifest import read_manifest  # noqa: E402
from toolkit.data.splits import load_split, split_rows  # noqa: E402
from toolkit.evaluation.evaluate import evaluate_frame_classifier, summarise  # noqa: E402
from toolkit.models import is_pose_model  # noqa: E402
from toolkit.training.frame_trainer import load_class_names  # noqa: E402


def main(argv=None) -> int:
    parser = make_parser(__doc__)
    parser.add_argument("--run", required=True, help="run folder written by a training recipe")
    parser.add_argument("--frames", help="evaluate every video of this frame folder instead of the test split")
    parser.add_argument("--out", help="where reports go (default: the run folder)")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)
    run = Path(args.run)
    class_names = load_class_names(run)
    config = json.loads((run / "config.json").read_text())
    frames = Path(args.frames or config["frames_dir"])
    if args.frames:
        rows, prefix = read_manifest(args.frames), "external"
        unknown = sorted({r["label"] for r in rows} - set(class_names))
        if unknown:
            parser.error(f"labels {unknown} of {args.frames} are not among the run's classes {class_names}")
    else:
        all_rows = read_manifest(config["frames_dir"])
        rows, prefix = split_rows(all_rows, load_split(run / "split.csv", all_rows))["test"], "test"
        if not rows:
            parser.error(f"run {run} has an empty test split; pass --frames to evaluate another folder")
    if is_pose_model(config["model_name"]):
        from toolkit.training.pose_trainer import evaluate_pose_run

        reports = evaluate_pose_run(run, config, rows, class_names, frames / "pose_cache", args.out or run, prefix)
        print(summarise(reports, prefix))
        print(f"Reports written to {args.out or run}")
        return 0
    model = keras.models.load_model(run / "model.keras")
    reports = evaluate_frame_classifier(model, rows, class_names, int(config["image_size"]), args.batch_size,
                                        out_dir=args.out or run, prefix=prefix)
    print(summarise(reports, prefix))
    print(f"Reports written to {args.out or run}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
