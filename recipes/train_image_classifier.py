"""Train a frame (image) classifier: an encoder and its frame head, on extracted frames or a folder of images.

    python recipes/train_image_classifier.py --frames data/frames                       # config.py values
    python recipes/train_image_classifier.py --images data/photos --group-pattern "^(p\\d+)_"
    python recipes/train_image_classifier.py --frames data/frames --model-name custom_cnn --epochs 5

A still-image dataset is a folder of <class>/<image> files (--images); its groups come from --group-csv,
--group-pattern or, by default, near-identical copies only (photos of one person in other poses are not
recognised: say where photos come from if you know). Makes a grouped split (or reloads --split), checks it
for leakage, trains like recipes/train_video_classifier.py but only the frame head (for videos: vote
pooling), and reports on the held-out side at frame (image) level, plus video level for frame folders.
Writes <runs_dir>/<name>/ with vote.keras (for an image run: one image in, class probabilities out),
run.json, config.json, split.csv, logs, curves and test reports; classify images with
recipes/classify_image.py --run. An interrupted run resumes when the same command runs again; a finished run
is refused unless --overwrite.
"""

import sys
import time
from pathlib import Path

from workout_runtime.cli import make_parser, quiet_tensorflow, run_recipe
from workout_runtime.locks import folder_lock

quiet_tensorflow()

from toolkit.config import add_config_flags, config_from_args  # noqa: E402
from toolkit.data.sources import add_dataset_flags, dataset_from_args, feature_cache_dir  # noqa: E402
from toolkit.data.splits import load_split, split_manifest, split_rows  # noqa: E402
from toolkit.evaluation.evaluate import summarise, train_and_evaluate  # noqa: E402


def main(argv=None) -> int:
    parser = make_parser(__doc__)
    add_dataset_flags(parser)
    parser.add_argument("--split", help="reuse a saved split.csv instead of making a fresh one")
    parser.add_argument("--name", help="run folder name under runs_dir (default: <model_name>-<time>)")
    parser.add_argument("--overwrite", action="store_true", help="replace a finished run of the same name")
    add_config_flags(parser)
    args = parser.parse_args(argv)
    config = config_from_args(args)
    dataset = dataset_from_args(args, config.frames_dir)
    print("\n".join(dataset.summary()))
    config = config.replace(frames_dir=str(dataset.root.resolve()),
                            pose_model_dir=str(Path(config.pose_model_dir).resolve()))
    if dataset.unit == "images":
        config = config.replace(frames_per_video=1)  # an image is a "video" of one frame
    rows = dataset.rows
    subsets = (load_split(args.split, rows) if args.split
               else split_manifest(rows, config.validation_fraction, config.test_fraction, config.seed))
    parts = split_rows(rows, subsets)
    print(f"split ({dataset.unit}): " + ", ".join(f"{k} {len({r['video_id'] for r in v})}" for k, v in parts.items()))
    run_dir = Path(config.runs_dir) / (args.name or f"{config.model_name.replace('+', '_')}-{time.strftime('%Y%m%d-%H%M%S')}")
    with folder_lock(run_dir, "training"):  # a second training of this --name is refused, not "resumed"
        reports = train_and_evaluate(config, rows, subsets, run_dir, aggregators=("vote",),
                                     feature_cache_dir=feature_cache_dir(dataset, config.runs_dir),
                                     overwrite=args.overwrite, dataset=dataset.describe())
    if reports:
        print(summarise(reports))
    print(f"Run written to {run_dir}. Classify images with: python recipes/classify_image.py IMAGE --run {run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(run_recipe(main))
