"""Train a frame (image) classifier on a frame manifest with a leakage-free grouped split.

    python recipes/train_image_classifier.py                                    # config.py values
    python recipes/train_image_classifier.py --model-name custom_cnn --weights none --epochs 5
    python recipes/train_image_classifier.py --frames data/frames_workout4 --split runs/old/split.csv

Reads config.py (switch models with model_name there or --model-name), splits the manifest by
group (or reloads --split), checks the split for leakage, trains (two stages for a pretrained
EfficientNetB0), then evaluates on the held-out test videos at frame and video level.
Writes to <runs_dir>/<name>/: model.keras, class_names.json, config.json, split.csv,
training_log.csv, training_curves.png, test_*.json|txt|png. An interrupted run resumes when
started again with the same --name. Runtime: minutes for custom_cnn on a few thousand frames
on 2 cores; EfficientNetB0 at 224 px is about 10x slower.

With a pose encoder (--model-name movenet_lightning or movenet_thunder) the frames' keypoints are
extracted once (cached in <frames>/pose_cache/) and a per-frame classifier on pose features
(pose_frame_model.keras) plus the pose LSTM (pose_sequence_model.keras) train in seconds; the
same run then classifies videos with classify_video.py and images with classify_image.py.
"""

import sys
import time
from pathlib import Path

from toolkit.cli import make_parser, quiet_tensorflow

quiet_tensorflow()

from toolkit.config import add_config_flags, config_from_args  # noqa: E402
from toolkit.data.manifest import read_manifest  # noqa: E402
from toolkit.data.splits import groups_per_class, load_split, split_manifest, split_rows  # noqa: E402
from toolkit.evaluation.evaluate import evaluate_frame_classifier, summarise  # noqa: E402
from toolkit.models import is_pose_model  # noqa: E402
from toolkit.training.frame_trainer import train_frame_classifier  # noqa: E402
from toolkit.training.pose_trainer import train_pose_run  # noqa: E402


def main(argv=None) -> int:
    parser = make_parser(__doc__)
    parser.add_argument("--frames", help="frame folder with manifest.csv (default: config.frames_dir)")
    parser.add_argument("--split", help="reuse a saved split.csv instead of making a fresh one")
    parser.add_argument("--name", help="run folder name under runs_dir (default: <model_name>-<time>)")
    add_config_flags(parser)
    args = parser.parse_args(argv)
    config = config_from_args(args)
    frames = args.frames or config.frames_dir
    # The run records the frames (and pose model) it was trained on, so evaluate.py finds them.
    config = config.replace(frames_dir=str(Path(frames).resolve()),
                            pose_model_dir=str(Path(config.pose_model_dir).resolve()))
    rows = read_manifest(frames)
    print(f"{len(rows)} frames of {len({r['video_id'] for r in rows})} videos; groups per class: "
          f"{groups_per_class([r['label'] for r in rows], [r['group'] for r in rows])}")
    if args.split:
        subsets = load_split(args.split, rows)
    else:
        subsets = split_manifest(rows, config.validation_fraction, config.test_fraction, config.seed)
    parts = split_rows(rows, subsets)
    print("split (videos): " + ", ".join(f"{k} {len({r['video_id'] for r in v})}" for k, v in parts.items()))
    name = args.name or f"{config.model_name}-{time.strftime('%Y%m%d-%H%M%S')}"
    run_dir = Path(config.runs_dir) / name
    if is_pose_model(config.model_name):
        print(summarise(train_pose_run(config, rows, subsets, run_dir, Path(frames) / "pose_cache")))
        print(f"Run written to {run_dir}")
        return 0
    model = train_frame_classifier(config, rows, subsets, run_dir)
    if parts["test"]:
        class_names = sorted({r["label"] for r in rows})
        reports = evaluate_frame_classifier(model, parts["test"], class_names, config.image_size,
                                            config.batch_size, seed=config.seed, out_dir=run_dir)
        print(summarise(reports))
    print(f"Run written to {run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
