"""Train a video classifier: one encoder, and a Keras model per aggregator (vote, LSTM, transformer).

    python recipes/train_video_classifier.py --frames data/frames                       # config.py values
    python recipes/train_video_classifier.py --frames data/frames_workout4 --model-name movenet_thunder --name pose
    python recipes/train_video_classifier.py --frames data/frames --model-name custom_cnn --epochs 5
    python recipes/train_video_classifier.py --config presets/workout4_thunder.py --name workout4

Makes a grouped train/validation/test split of the frame manifest (no group on two sides; or reloads --split),
checks it for leakage, and trains with the encoder named by model_name: a pretrained encoder stays frozen
(MoveNet, or EfficientNet with fine_tune_epochs = 0), so every frame's features are computed once and cached
in <frames>/feature_cache/ and the heads train on them in seconds; custom_cnn (or weights none) trains from
scratch with its frame head first, and fine_tune_epochs > 0 fine-tunes a pretrained EfficientNet. Then the
frame head (pooled by vote), the LSTM and the transformer are trained and scored on the held-out videos.

Writes <runs_dir>/<name>/: vote.keras, lstm.keras, transformer.keras (each maps uint8 frames (1, T, H, W, 3)
to class probabilities, encoder inside: keras.models.load_model works after `import toolkit`), run.json
(classes, frame geometry, calibrated "unknown" thresholds), config.json, split.csv, training logs and curves,
test_*.json|txt and confusion matrices (with chance levels). An interrupted run resumes when the same command
runs again; a finished run is refused unless --overwrite. Runtime on 2 cores: frozen encoders cost one
encoder pass per frame (EfficientNet-Lite0 about 120 frames/s, MoveNet Lightning 90, Thunder 35) plus
seconds for the heads; training custom_cnn from scratch takes minutes.
"""

import sys
import time
from pathlib import Path

from workout_runtime.cli import make_parser, quiet_tensorflow, run_recipe
from workout_runtime.locks import folder_lock

quiet_tensorflow()

from toolkit.config import add_config_flags, config_from_args  # noqa: E402
from toolkit.data.sources import add_dataset_flags, add_negatives, dataset_from_args, feature_cache_dir  # noqa: E402
from toolkit.data.splits import load_split, split_manifest, split_rows  # noqa: E402
from toolkit.evaluation.evaluate import summarise, train_and_evaluate  # noqa: E402
from toolkit.temporal.heads import AGGREGATORS  # noqa: E402


def main(argv=None) -> int:
    parser = make_parser(__doc__)
    add_dataset_flags(parser)
    parser.add_argument("--split", help="reuse a saved split.csv instead of making a fresh one")
    parser.add_argument("--name", help="run folder name under runs_dir (default: <model_name>-<time>)")
    parser.add_argument("--overwrite", action="store_true", help="replace a finished run of the same name")
    parser.add_argument("--aggregators", nargs="+", choices=AGGREGATORS, default=list(AGGREGATORS),
                        help="which video models to train (default: all)")
    add_config_flags(parser)
    args = parser.parse_args(argv)
    config = config_from_args(args)
    dataset = add_negatives(dataset_from_args(args, config.frames_dir), config.negatives, config.frames_per_video)
    print("\n".join(dataset.summary()))
    # The run records its data and pose model as absolute paths, so evaluate.py finds them from anywhere.
    config = config.replace(frames_dir=str(dataset.root.resolve()),
                            pose_model_dir=str(Path(config.pose_model_dir).resolve()),
                            negatives=str(Path(config.negatives).resolve()) if config.negatives else None)
    rows = dataset.rows
    subsets = (load_split(args.split, rows) if args.split
               else split_manifest(rows, config.validation_fraction, config.test_fraction, config.seed))
    parts = split_rows(rows, subsets)
    print(f"split ({dataset.unit}): " + ", ".join(f"{k} {len({r['video_id'] for r in v})}" for k, v in parts.items()))
    run_dir = Path(config.runs_dir) / (args.name or f"{config.model_name.replace('+', '_')}-{time.strftime('%Y%m%d-%H%M%S')}")
    with folder_lock(run_dir, "training"):  # a second training of this --name is refused, not "resumed"
        reports = train_and_evaluate(config, rows, subsets, run_dir, aggregators=args.aggregators,
                                     feature_cache_dir=feature_cache_dir(dataset, config.runs_dir),
                                     overwrite=args.overwrite, dataset=dataset.describe())
    if reports:
        print(summarise(reports))
    print(f"Run written to {run_dir}. Classify with: python recipes/classify_video.py VIDEO --run {run_dir} "
          f"[--temporal {'|'.join(args.aggregators)}]")
    return 0


if __name__ == "__main__":
    sys.exit(run_recipe(main))
