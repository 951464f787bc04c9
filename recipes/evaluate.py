"""Evaluate a saved run on its own test split, or on every video (or image) of another folder.

    python recipes/evaluate.py --run runs/quickstart                       # the run's test split
    python recipes/evaluate.py --run runs/quickstart --frames data/other   # every video of another frame folder
    python recipes/evaluate.py --run runs/photos --images data/more_photos # every image of another image folder

Prints and saves (into the run folder, or --out) accuracy with a 95 % bootstrap interval that resamples
whole groups, balanced accuracy, macro-F1, chance levels (uniform guessing and the most frequent class) and
per-class precision/recall/F1, at frame level and, for every aggregator the run has, at video level, plus
confusion-matrix PNGs. Warns when a class is missing from the set, comes from fewer than 3 sources, or when
the model predicts one class for everything. Frozen encoders' features come from the cache beside the frames.
"""

import sys
from pathlib import Path

from workout_runtime.cli import make_parser, quiet_tensorflow, run_recipe

quiet_tensorflow()

from toolkit.data.sources import add_dataset_flags, dataset_from_args, feature_cache_dir, load_dataset  # noqa: E402
from toolkit.data.splits import load_split, split_rows  # noqa: E402
from toolkit.errors import DatasetError  # noqa: E402
from toolkit.evaluation.evaluate import load_run_models, run_features, score_run, summarise  # noqa: E402


def main(argv=None) -> int:
    parser = make_parser(__doc__)
    parser.add_argument("--run", required=True, help="run folder written by a training recipe")
    add_dataset_flags(parser)
    parser.add_argument("--out", help="where reports go (default: the run folder)")
    args = parser.parse_args(argv)
    run = Path(args.run)
    models = load_run_models(run)
    class_names = models.info.class_names
    if args.frames or args.images:
        dataset = dataset_from_args(args, None)
        rows, prefix = dataset.rows, "external"
        unknown = sorted({r["label"] for r in rows} - set(class_names))
        if unknown:
            raise DatasetError(f"Labels {unknown} of {dataset.root} are not among the run's classes {class_names}; "
                               f"evaluate on folders of the same classes.")
    else:
        described = dict(models.info.dataset) or {"frames": models.info.frames_dir}
        dataset = load_dataset(**described)
        rows, prefix = split_rows(dataset.rows, load_split(run / "split.csv", dataset.rows))["test"], "test"
        if not rows:
            raise DatasetError(f"Run {run} has an empty test split; pass --frames or --images to evaluate another "
                               f"folder.")
    print("\n".join(dataset.summary()))
    features = run_features(models, rows, feature_cache_dir(dataset, run.parent))
    reports = score_run(models, rows, features, seed=0, out_dir=Path(args.out or run), prefix=prefix,
                        unit=dataset.unit)
    print(summarise(reports, prefix))
    print(f"Reports written to {args.out or run}")
    return 0


if __name__ == "__main__":
    sys.exit(run_recipe(main))
