"""Repeated stratified group k-fold cross-validation of every aggregator, with chance levels.

    python recipes/cross_validate.py --frames data/frames --model-name custom_cnn --folds 3
    python recipes/cross_validate.py --config presets/workout4_thunder.py --repeats 3      # a BENCHMARKS.md row
    python recipes/cross_validate.py --images data/photos --group-pattern "^(p\\d+)_"

Per fold (videos grouped by source, stratified by class) one run trains, and the frame head, majority and
mean vote, the LSTM and the transformer are scored on the same held-out videos. --repeats N draws the folds
again with N fold seeds (seed, seed + 1, ...): the headline is the mean ± standard deviation over all folds
of all repeats, with each repeat's mean beside it, because one draw of folds on a small dataset moves by
several points. Writes <out>/repeat_<r>/fold_<k>/ (reports and confusion matrices), <out>/summary.csv,
summary.json, summary.md and summary.png (mean per aggregator with error bars over folds, each fold as a dot,
and the chance levels). An interrupted run resumes at the first unfinished fold. Runtime: folds x repeats x
one training run; frozen encoders encode every frame once for all folds (features cached beside the frames),
after which a fold of a pose or frozen EfficientNet run takes seconds.
"""

import sys
import time
from pathlib import Path

from workout_runtime.cli import make_parser, quiet_tensorflow, run_recipe
from workout_runtime.locks import folder_lock

quiet_tensorflow()

from toolkit.config import add_config_flags, config_from_args  # noqa: E402
from toolkit.data.sources import add_dataset_flags, add_negatives, dataset_from_args, feature_cache_dir  # noqa: E402
from toolkit.evaluation.cross_validation import cross_validate  # noqa: E402
from toolkit.temporal.heads import AGGREGATORS, SEQUENCE_AGGREGATORS  # noqa: E402


def main(argv=None) -> int:
    parser = make_parser(__doc__)
    add_dataset_flags(parser)
    parser.add_argument("--out", help="output folder (default: <runs_dir>/cv-<model>-<time>)")
    parser.add_argument("--repeats", type=int, default=1, help="fold seeds to run (default 1; 3 for a headline)")
    parser.add_argument("--aggregators", nargs="+", choices=AGGREGATORS, default=list(AGGREGATORS),
                        help="aggregators to score (default: all)")
    add_config_flags(parser)
    args = parser.parse_args(argv)
    config = config_from_args(args)
    dataset = add_negatives(dataset_from_args(args, config.frames_dir), config.negatives, config.frames_per_video)
    print("\n".join(dataset.summary()))
    config = config.replace(frames_dir=str(dataset.root.resolve()),
                            pose_model_dir=str(Path(config.pose_model_dir).resolve()))
    if dataset.unit == "images":
        config = config.replace(frames_per_video=1)
    out = Path(args.out or Path(config.runs_dir) / f"cv-{config.model_name.replace('+', '_')}-"
                                                   f"{time.strftime('%Y%m%d-%H%M%S')}")
    start = time.perf_counter()
    sequence = [a for a in SEQUENCE_AGGREGATORS if a in args.aggregators and dataset.unit == "videos"]
    with folder_lock(out, "cross-validating"):
        cross_validate(config, dataset.rows, out, repeats=args.repeats, aggregators=["vote", *sequence],
                       feature_cache_dir=feature_cache_dir(dataset, config.runs_dir), unit=dataset.unit)
    print((out / "summary.md").read_text())
    print(f"Cross-validation written to {out} (summary.png: the spread over folds) in "
          f"{time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(run_recipe(main))
