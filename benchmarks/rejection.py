"""How well "unknown" refuses what is not an exercise, through the real inference path.

    python benchmarks/rejection.py                    # about 10 minutes on 2 cores
    python benchmarks/rejection.py --models efficientnet_lite0
    python benchmarks/rejection.py --smoke   # a custom CNN on a few tiny synthetic videos (CI); no figures

Renders the quick start's synthetic exercises (7 classes, 16 recurring performers) and, with other performers,
motions that are not exercises: walking, waving, standing still, an empty room. For each encoder a run trains
on the exercises (grouped split; its rejection thresholds calibrated on its validation videos, accept_rate
0.95), then `VideoClassifier` classifies its held-out exercise videos and every negative. Reports per
aggregator the AUROC of the top probability (a video with no evidence scores 0), and with the run's own rule
(evidence and calibrated threshold) the share of held-out exercise videos accepted and of negatives falsely
accepted, per kind of negative. Penn Action's non-exercise actions against its exercises are measured by
benchmarks/pose_penn_action.py. Writes benchmarks/results/rejection.json.
"""

import argparse
import json
import sys
import time
from pathlib import Path

from workout_runtime.cli import quiet_tensorflow

quiet_tensorflow()

import numpy as np  # noqa: E402

from toolkit.config import Config  # noqa: E402
from toolkit.data.frames import extract_frames  # noqa: E402
from toolkit.data.manifest import read_manifest  # noqa: E402
from toolkit.data.splits import split_manifest, split_rows  # noqa: E402
from toolkit.data.synthetic import SyntheticConfig, generate_dataset  # noqa: E402
from toolkit.data.synthetic_motion import NON_EXERCISES  # noqa: E402
from toolkit.evaluation.rejection import rejection_report  # noqa: E402
from toolkit.temporal.inference import VideoClassifier  # noqa: E402
from toolkit.training.trainer import train_run  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["efficientnet_lite0", "movenet_lightning"])
    parser.add_argument("--work", default=str(ROOT / "data" / "bench_rejection"))
    parser.add_argument("--smoke", action="store_true",
                        help="a custom CNN on a few tiny synthetic videos in a temporary folder (CI); no figures")
    args = parser.parse_args(argv)
    work, out = Path(args.work), ROOT / "benchmarks" / "results"
    sizes = dict(videos=20, performers=16, negatives=12, seconds=12, frames=16, image=224, epochs=80, patience=15)
    if args.smoke:
        import tempfile

        work = out = Path(tempfile.mkdtemp(prefix="smoke_rejection_"))
        args.models = ["custom_cnn"]
        sizes = dict(videos=4, performers=8, negatives=1, seconds=2, frames=4, image=64, epochs=1, patience=1)
    start = time.perf_counter()
    if not (work / "videos" / "manifest.csv").is_file():
        generate_dataset(work / "videos", SyntheticConfig(
            videos_per_class=sizes["videos"], num_performers=sizes["performers"], max_duration_s=sizes["seconds"],
            seed=0), progress=not args.smoke)
    if not (work / "negatives" / "manifest.csv").is_file():
        generate_dataset(work / "negatives", SyntheticConfig(
            classes=tuple(NON_EXERCISES), videos_per_class=sizes["negatives"], num_performers=8,
            max_duration_s=sizes["seconds"], seed=1), progress=not args.smoke)
    extract_frames(work / "videos", work / "frames", num_frames=sizes["frames"], progress=False)
    rows = read_manifest(work / "frames")
    subsets = split_manifest(rows, 0.15, 0.25, seed=0)
    test_ids = sorted({r["video_id"] for r in split_rows(rows, subsets)["test"]})
    test_videos = [next((work / "videos").glob(f"{v}.*")) for v in test_ids]
    negatives = sorted((work / "negatives").glob("*/*.mp4"))
    results = {"test_videos": len(test_videos), "negatives": {k: sum(p.parent.name == k for p in negatives)
                                                              for k in NON_EXERCISES}, "models": {}}
    for model_name in args.models:
        config = Config(model_name=model_name, pose_model_dir=str(SHARED / "models" / "movenet"),
                        image_size=sizes["image"], frames_per_video=sizes["frames"], head_epochs=sizes["epochs"],
                        early_stopping_patience=sizes["patience"], dropout=0.3, seed=0,
                        frames_dir=str(work / "frames"),
                        **({"epochs": 1, "calibration_folds": 0} if args.smoke else {})).validate()
        run = work / "runs" / model_name
        train_run(config, rows, subsets, run, overwrite=True, feature_cache_dir=work / "frames" / "feature_cache",
                  progress=False, log=lambda _: None)
        results["models"][model_name] = {}
        for aggregator in ("vote", "lstm", "transformer"):
            judged = VideoClassifier.from_run(run, aggregator)  # the run's own rule
            inside = [judged.classify(p) for p in test_videos]
            outside = [judged.classify(p) for p in negatives]
            score = [0.0 if v.frames_with_evidence == 0 else v.confidence for v in inside + outside]
            report = rejection_report(score[:len(inside)], score[len(inside):], None)
            truth = [p.parent.name for p in test_videos]
            report.update(
                threshold=judged.rule.threshold, accepted_in_distribution=float(np.mean([not v.unknown for v in inside])),
                correct_and_accepted=float(np.mean([v.label == t for v, t in zip(inside, truth)])),
                false_accept=float(np.mean([not v.unknown for v in outside])),
                false_accept_by_kind={k: float(np.mean([not v.unknown for v, p in zip(outside, negatives)
                                                        if p.parent.name == k])) for k in NON_EXERCISES})
            results["models"][model_name][aggregator] = report
            print(f"{model_name:<18} {aggregator:<12} AUROC {report['auroc']:.3f} (false accepts at 95 % TPR "
                  f"{report['false_accept_at_95_tpr']:.2f}), calibrated rule accepted "
                  f"{report['accepted_in_distribution']:.2f} of held-out exercises, false accepts "
                  f"{report['false_accept']:.2f} " + str({k: round(v, 2) for k, v in
                                                          report["false_accept_by_kind"].items()}), flush=True)
    results["seconds"] = time.perf_counter() - start
    out.mkdir(parents=True, exist_ok=True)
    (out / "rejection.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
