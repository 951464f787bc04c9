"""The published projects' protocol, to show what leakage does: frames of one video on both sides of the split.

    python benchmarks/leaky_protocol.py --config presets/workout4_lite0.py
    python benchmarks/leaky_protocol.py --config presets/workout4_custom_cnn.py --folds-run 2
    python benchmarks/leaky_protocol.py --smoke   # one fold on tiny synthetic frames (CI); no figures

A stratified k-fold over *frames* (ignoring videos and sources), scored per frame, with the settings of a
preset (the same encoder and frame head as its grouped cross-validation row). Each fold is one training
run; --folds-run N stops after N folds. Prints mean ± std of frame accuracy over the folds run and writes
benchmarks/results/leaky_<preset>.json. Compare with `recipes/cross_validate.py --config <preset>`: the gap
is what a random split hides.
"""

import argparse
import json
import sys
import time
from pathlib import Path

from workout_runtime.cli import quiet_tensorflow

quiet_tensorflow()

import numpy as np  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402

from toolkit.config import load_config_module  # noqa: E402
from toolkit.data.manifest import read_manifest  # noqa: E402
from toolkit.data.sources import feature_cache_dir, load_dataset  # noqa: E402
from toolkit.evaluation.cross_validation import METRICS  # noqa: E402
from toolkit.evaluation.evaluate import models_of, score_run  # noqa: E402
from toolkit.training.trainer import train_run  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="a preset (presets/*.py)")
    parser.add_argument("--folds-run", type=int, default=None, help="run only the first N folds")
    parser.add_argument("--smoke", action="store_true",
                        help="one fold of a custom CNN on tiny synthetic frames in a temporary folder (CI); no figures")
    args = parser.parse_args(argv)
    runs, results = ROOT / "runs" / "leaky", ROOT / "benchmarks" / "results"
    if args.smoke:
        from smoke import tiny_frames, tiny_videos, work_dir
        from toolkit.config import Config

        work = runs = results = work_dir("leaky_protocol")
        frames = tiny_frames(work / "frames", tiny_videos(work / "videos"), 2)
        config = Config(model_name="custom_cnn", frames_dir=str(frames), image_size=64, frames_per_video=2,
                        head_epochs=1, epochs=1, batch_size=8, folds=2, runs_dir=str(work / "runs"),
                        calibration_folds=0).validate()
        args.config, args.folds_run = "smoke", 1
    elif not args.config:
        parser.error("--config is required (or --smoke)")
    else:
        config = load_config_module(args.config).validate()
    rows = read_manifest(config.frames_dir)
    dataset = load_dataset(frames=config.frames_dir)
    labels = np.array([r["label"] for r in rows])
    splitter = StratifiedKFold(config.folds, shuffle=True, random_state=config.seed)
    rng = np.random.default_rng(config.seed)
    scores, start = {m: [] for m in METRICS}, time.perf_counter()
    for k, (_, test_idx) in enumerate(splitter.split(np.zeros(len(rows)), labels)):
        if args.folds_run is not None and k >= args.folds_run:
            break
        subsets = np.full(len(rows), "train", dtype=object)
        subsets[test_idx] = "test"
        train_idx = np.flatnonzero(subsets == "train")
        subsets[rng.choice(train_idx, int(config.validation_fraction * len(rows)), replace=False)] = "validation"
        out = runs / Path(args.config).stem / f"fold_{k}"
        # check_leakage=False: the whole point is a split that leaks.
        trained = train_run(config, rows, subsets.astype(str), out, aggregators=("vote",), overwrite=True,
                            check_leakage=False, save_models=False, feature_cache_dir=feature_cache_dir(
                                dataset, config.runs_dir), progress=False, log=lambda _: None)
        report = score_run(models_of(trained), [rows[i] for i in test_idx], trained.features, ())["frame"]
        for m in METRICS:
            scores[m].append(report[m])
        print(f"fold {k + 1}: frame accuracy {report['accuracy']:.3f}", flush=True)
    summary = {f"{m}_{s}": float(f(np.array(v))) for m, v in scores.items()
               for s, f in (("mean", np.mean), ("std", lambda a: a.std(ddof=1) if len(a) > 1 else 0.0))}
    summary.update(folds_run=len(scores["accuracy"]), folds=config.folds, seconds=time.perf_counter() - start,
                   preset=args.config)
    results.mkdir(parents=True, exist_ok=True)
    (results / f"leaky_{Path(args.config).stem}.json").write_text(json.dumps(summary, indent=2))
    print(f"leaky random-frame protocol, {summary['folds_run']} of {config.folds} folds: frame accuracy "
          f"{summary['accuracy_mean']:.3f} ± {summary['accuracy_std']:.3f}, balanced "
          f"{summary['balanced_accuracy_mean']:.3f} ± {summary['balanced_accuracy_std']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
