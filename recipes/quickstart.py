"""Quick start: the whole job end to end on freshly generated synthetic workout videos, offline.

    python recipes/quickstart.py            # about 5 minutes on 2 CPU cores
    python recipes/quickstart.py --smoke    # tiny everything, under a minute: checks the plumbing

Steps: render synthetic videos (7 exercises, recurring performers) -> extract 16 frames per video
-> grouped train/validation/test split (no performer on two sides) -> train a frame classifier
-> evaluate on held-out performers at frame and video level (vote pooling) -> train an LSTM on
cached frame features and evaluate it on the same videos -> classify one held-out video by frame
voting.

To stay offline and fast it picks the small custom_cnn at 96 px trained from scratch (ImageNet
weights cannot be downloaded offline) for a few epochs. Expect video-level accuracy well above
chance (1/7) but below 100%: curl_fast_lift and curl_slow_lift differ only in rhythm, so no
frame classifier can tell them apart. Outputs go to data/quickstart/ and runs/quickstart/.
"""

import csv
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from toolkit.cli import make_parser, quiet_tensorflow

quiet_tensorflow()

from toolkit.config import Config  # noqa: E402
from toolkit.data.frames import extract_frames  # noqa: E402
from toolkit.data.manifest import read_manifest  # noqa: E402
from toolkit.data.splits import split_manifest, split_rows  # noqa: E402
from toolkit.data.synthetic import SyntheticConfig, generate_dataset  # noqa: E402
from toolkit.evaluation.evaluate import evaluate_frame_classifier  # noqa: E402
from toolkit.evaluation.video_eval import lstm_from_cached_features  # noqa: E402
from toolkit.models import get_feature_extractor  # noqa: E402
from toolkit.temporal.inference import VIDEO_MODEL_FILE, VideoClassifier  # noqa: E402
from toolkit.temporal.lstm import build_lstm_video_classifier  # noqa: E402
from toolkit.training.frame_trainer import train_frame_classifier  # noqa: E402


def step(title: str) -> float:
    print(f"\n=== {title} ===", flush=True)
    return time.perf_counter()


def main(argv=None) -> int:
    parser = make_parser(__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny data and one epoch: a plumbing check")
    parser.add_argument("--data", default="data/quickstart", help="where videos and frames go")
    parser.add_argument("--run", default="runs/quickstart", help="run folder")
    args = parser.parse_args(argv)
    data, run_dir = Path(args.data), Path(args.run)
    # A fresh start each time: the quick start demonstrates the pipeline, it is not a resumable job.
    shutil.rmtree(data, ignore_errors=True)
    shutil.rmtree(run_dir, ignore_errors=True)
    synthetic = SyntheticConfig(videos_per_class=3 if args.smoke else 20, num_performers=4 if args.smoke else 16,
                                max_duration_s=4.0 if args.smoke else 12.0, seed=0)
    config = Config(model_name="custom_cnn", weights=None, image_size=64 if args.smoke else 96,
                    frames_per_video=16, epochs=1 if args.smoke else 15, batch_size=32, learning_rate=2e-3,
                    early_stopping_patience=5, lstm_epochs=5 if args.smoke else 60, validation_fraction=0.15, test_fraction=0.25,
                    video_dir=str(data / "videos"), frames_dir=str(data / "frames"), runs_dir=str(run_dir.parent),
                    seed=0).validate()
    started = time.perf_counter()

    t = step(f"1/6 Rendering {len(synthetic.classes) * synthetic.videos_per_class} synthetic videos")
    generate_dataset(config.video_dir, synthetic)
    print(f"done in {time.perf_counter() - t:.0f} s -> {config.video_dir}")

    t = step(f"2/6 Extracting {config.frames_per_video} frames per video")
    report = extract_frames(config.video_dir, config.frames_dir, num_frames=config.frames_per_video)
    print(f"{report.frames} frames, {len(report.failed)} unreadable videos, {time.perf_counter() - t:.0f} s")

    t = step("3/6 Grouped split and training (custom_cnn, from scratch)")
    rows = read_manifest(config.frames_dir)
    subsets = split_manifest(rows, config.validation_fraction, config.test_fraction, config.seed)
    parts = split_rows(rows, subsets)
    for name, part in parts.items():
        print(f"  {name:<10} {len({r['video_id'] for r in part}):3d} videos, performers "
              f"{sorted({r['group'] for r in part})}")
    model = train_frame_classifier(config, rows, subsets, run_dir, verbose=2)
    print(f"trained in {time.perf_counter() - t:.0f} s")

    t = step("4/6 Evaluating on held-out performers")
    class_names = sorted({r["label"] for r in rows})
    reports = evaluate_frame_classifier(model, parts["test"], class_names, config.image_size,
                                        config.batch_size, out_dir=run_dir)
    for name, r in reports.items():
        ci = r.get("accuracy_ci95", [float("nan")] * 2)
        print(f"  {name:<18} accuracy {r['accuracy']:.3f} (95% CI over performers {ci[0]:.2f}-{ci[1]:.2f}), "
              f"macro-F1 {r['macro_f1']:.3f}, {r['samples']} samples")

    t = step("5/6 LSTM on cached frame features (same split, same held-out videos)")
    features = get_feature_extractor(model)
    head, lstm_report, _ = lstm_from_cached_features(features, rows, subsets, class_names, config,
                                                     Path(config.frames_dir) / "feature_cache", run_dir / "lstm")
    build_lstm_video_classifier(features, head, config.frames_per_video, config.image_size).save(
        run_dir / "lstm" / VIDEO_MODEL_FILE)
    pair = [class_names.index(c) for c in ("curl_fast_lift", "curl_slow_lift")]
    for name, report in (("video_mean", reports["video_mean"]), ("video_lstm", lstm_report)):
        matrix = np.array(report["confusion_matrix"])[np.ix_(pair, pair)]
        print(f"  {name:<11} accuracy {report['accuracy']:.3f}; on the rhythm-only pair "
              f"(curl_fast_lift vs curl_slow_lift) {np.trace(matrix)}/{matrix.sum()} right")
    print(f"features cached and LSTM trained in {time.perf_counter() - t:.0f} s")

    t = step("6/6 Classifying one held-out video by frame voting")
    test_video = parts["test"][0]["video_id"]
    with open(Path(config.video_dir) / "manifest.csv") as f:
        video_path = next(Path(config.video_dir) / r["path"] for r in csv.DictReader(f)
                          if r["path"].rsplit(".", 1)[0] == test_video)
    classifier = VideoClassifier.from_run(run_dir, "vote", "mean")
    prediction = classifier.classify(video_path)
    print(f"{video_path}: predicted {prediction.label} ({prediction.confidence:.1%}, {prediction.frames_used} "
          f"frames), true {test_video.split('/')[0]}")
    print(f"\nQuick start finished in {time.perf_counter() - started:.0f} s. Run folder: {run_dir} "
          f"(model.keras, split.csv, training_curves.png, test_*_confusion.png).")
    print(f"Next: python recipes/classify_video.py {video_path} --run {run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
