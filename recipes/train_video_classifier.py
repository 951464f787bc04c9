"""Train and evaluate a video classifier: vote pooling or TimeDistributed + LSTM over a frame model.

    python recipes/train_video_classifier.py --temporal vote --model-name custom_cnn --weights none
    python recipes/train_video_classifier.py --temporal lstm --frame-run runs/quickstart
    python recipes/train_video_classifier.py --temporal lstm --frame-run runs/x --end-to-end --trainable-layers 0

Uses the same grouped split as the frame model (a --frame-run's split.csv, or a fresh one).
Without --frame-run it first trains the frame classifier (as train_image_classifier.py does).
--temporal vote: evaluates majority, mean and confidence-weighted votes at video level and saves
<run>/video_model.keras. --temporal lstm: caches every video's frame features once
(<frames>/feature_cache/), trains the LSTM head on them in seconds per epoch, evaluates at video
level, and saves the end-to-end clip model to <run>/lstm/video_model.keras; --end-to-end instead
trains through the frame extractor on clip batches (backbone frozen, or its top
--trainable-layers unfrozen; BatchNormalization stays frozen). Runtime: the LSTM head on cached
features takes seconds; feature extraction costs one forward pass per frame.

With a pose encoder (--model-name movenet_lightning or movenet_thunder) the keypoints of every
frame are extracted once (cached in <frames>/pose_cache/), then the pose LSTM and the per-frame
pose classifier for voting both train in seconds and are evaluated on the test videos; the run
serves classify_video.py with --temporal lstm or vote. --frame-run and --end-to-end do not apply.
"""

import json
import sys
import time
from pathlib import Path

from toolkit.cli import make_parser, quiet_tensorflow

quiet_tensorflow()

import keras  # noqa: E402

from toolkit.config import add_config_flags, config_from_args  # noqa: E402
from toolkit.data.manifest import read_manifest  # noqa: E402
from toolkit.data.splits import load_split, split_manifest, split_rows  # noqa: E402
from toolkit.evaluation.evaluate import evaluate_frame_classifier, summarise  # noqa: E402
from toolkit.evaluation.metrics import format_report  # noqa: E402
from toolkit.evaluation.video_eval import lstm_from_cached_features, score_sequence_head  # noqa: E402
from toolkit.models import get_feature_extractor, is_pose_model  # noqa: E402
from toolkit.temporal.inference import VIDEO_MODEL_FILE  # noqa: E402
from toolkit.temporal.lstm import FeatureCache, build_lstm_video_classifier  # noqa: E402
from toolkit.temporal.vote import build_vote_classifier  # noqa: E402
from toolkit.training.frame_trainer import load_class_names, train_frame_classifier  # noqa: E402
from toolkit.training.pose_trainer import train_pose_run  # noqa: E402
from toolkit.training.video_trainer import train_lstm_end_to_end  # noqa: E402


def main(argv=None) -> int:
    parser = make_parser(__doc__)
    parser.add_argument("--frames", help="frame folder with manifest.csv (default: config.frames_dir)")
    parser.add_argument("--frame-run", help="an existing frame-classifier run to build on")
    parser.add_argument("--name", help="run folder name for a fresh frame model (default: <model>-video-<time>)")
    parser.add_argument("--end-to-end", action="store_true", help="train the LSTM through the frame extractor")
    parser.add_argument("--trainable-layers", type=int, default=0,
                        help="with --end-to-end: top backbone layers to unfreeze (default 0: frozen)")
    add_config_flags(parser)
    args = parser.parse_args(argv)
    config = config_from_args(args)
    frames = Path(args.frames or config.frames_dir)
    config = config.replace(frames_dir=str(frames.resolve()),
                            pose_model_dir=str(Path(config.pose_model_dir).resolve()))
    rows = read_manifest(frames)

    if is_pose_model(config.model_name):
        if args.frame_run or args.end_to_end:
            parser.error(f"--frame-run and --end-to-end train on a pixel frame model; model_name="
                         f"{config.model_name!r} is a pose encoder, whose run trains both heads itself. "
                         f"Drop those flags, or choose a pixel model with --model-name.")
        run_dir = Path(config.runs_dir) / (args.name or f"{config.model_name}-video-{time.strftime('%Y%m%d-%H%M%S')}")
        subsets = split_manifest(rows, config.validation_fraction, config.test_fraction, config.seed)
        print(summarise(train_pose_run(config, rows, subsets, run_dir, frames / "pose_cache")))
        print(f"Pose run written to {run_dir}; classify videos with recipes/classify_video.py --run {run_dir} "
              f"[--temporal lstm|vote]")
        return 0

    if args.frame_run:
        run_dir = Path(args.frame_run)
        class_names = load_class_names(run_dir)
        subsets = load_split(run_dir / "split.csv", rows)
        frame_model = keras.models.load_model(run_dir / "model.keras")
    else:
        run_dir = Path(config.runs_dir) / (args.name or f"{config.model_name}-video-{time.strftime('%Y%m%d-%H%M%S')}")
        subsets = split_manifest(rows, config.validation_fraction, config.test_fraction, config.seed)
        class_names = sorted({r["label"] for r in rows})
        frame_model = train_frame_classifier(config, rows, subsets, run_dir, class_names)
    parts = split_rows(rows, subsets)
    run_config = json.loads((run_dir / "config.json").read_text())
    image_size = int(run_config["image_size"])

    if config.temporal == "vote":
        reports = evaluate_frame_classifier(frame_model, parts["test"], class_names, image_size,
                                            config.batch_size, seed=config.seed, out_dir=run_dir)
        print(summarise(reports))
        video_model = build_vote_classifier(frame_model, config.frames_per_video, image_size, config.vote_method)
        video_model.save(run_dir / VIDEO_MODEL_FILE)
        print(f"Vote classifier ({config.vote_method}) saved to {run_dir / VIDEO_MODEL_FILE}")
        return 0

    lstm_dir = run_dir / "lstm"
    lstm_dir.mkdir(parents=True, exist_ok=True)
    features = get_feature_extractor(frame_model)
    if args.end_to_end:
        model = train_lstm_end_to_end(features, parts["train"], parts["validation"], class_names,
                                      config.frames_per_video, image_size, config.lstm_units, config.epochs,
                                      config.learning_rate, args.trainable_layers, batch_size=4,
                                      augment=config.augment, patience=config.early_stopping_patience,
                                      seed=config.seed)
        head = model.get_layer("sequence_head")
        features.trainable = False
        report = None
        if parts["test"]:
            # Test features of the trained extractor, for the same report as the cached path.
            cache = FeatureCache(frames / "feature_cache").get(features, parts["test"], class_names,
                                                               config.frames_per_video, image_size)
            report = score_sequence_head(head, cache, parts["test"], class_names, config.seed, lstm_dir)
    else:
        start = time.perf_counter()
        head, report, cache = lstm_from_cached_features(features, rows, subsets, class_names,
                                                        config.replace(image_size=image_size),
                                                        frames / "feature_cache", lstm_dir, lstm_dir, verbose=2)
        print(f"features of {len(cache['video_ids'])} videos ({cache['computed']} computed, the rest cached, "
              f"{cache['cache_file']}) and LSTM head trained in {time.perf_counter() - start:.1f} s")
        model = build_lstm_video_classifier(features, head, config.frames_per_video, image_size)
    model.save(lstm_dir / VIDEO_MODEL_FILE)
    if report is not None:
        print(format_report(report, "test video lstm"))
    print(f"LSTM video classifier saved to {lstm_dir / VIDEO_MODEL_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
