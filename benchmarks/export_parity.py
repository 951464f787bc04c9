"""Exported artifacts against the Keras run on every held-out clip: parity, accuracy, size and latency.

    python benchmarks/export_parity.py --config presets/workout4_thunder.py [--repeats 2]
    python benchmarks/export_parity.py --config presets/workout4_lite0.py [--repeats 2]
    python benchmarks/export_parity.py --smoke   # a tiny synthetic run and its artifacts (CI); no figures

Grouped k-fold cross-validation as `recipes/cross_validate.py` draws it (the preset's folds and fold seed, and the
next seeds with `--repeats`). Per fold, one run (the vote aggregator) trains on the training groups and is
exported to every format and quantization `recipes/export.py` offers for it: SavedModel, LiteRT float32, float16
and int8, ONNX float32 and int8 (int8 is refused for runs with MoveNet inside). Every held-out video is then
classified from its file by the Keras run (`classify_video.py --run`) and by each artifact (`--model`), each
decoding the video itself, as a user's command would. So every clip of the set passes through every artifact
once per fold seed, held out from the model that judges it.

Reported per artifact: the largest and the mean probability difference to the Keras run, the share of clips with
the same top class and with the same verdict (the class, or "unknown"), accuracy (the top exercise against the
label) and its change from the Keras run's, fold by fold (mean and standard deviation over folds), the artifact's
size, the export's time, the median time per clip after start-up (decoding included) and, per clip, the Keras
run's time over the artifact's (each clip runs through every backend in turn, so the ratio is paired). Folds are kept under
`runs/bench_export/<preset>/` and reused when their key (the cross-validation's fold key) is the same. Writes
benchmarks/results/export_<preset>.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

# (name, format, quantize): every artifact recipes/export.py makes.
VARIANTS = (("savedmodel", "savedmodel", "none"), ("litert_float32", "tflite", "none"),
            ("litert_float16", "tflite", "float16"), ("litert_int8", "tflite", "int8"),
            ("onnx_float32", "onnx", "none"), ("onnx_int8", "onnx", "int8"))


def size_of(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def find_video(video_dir: Path, video_id: str) -> Path:
    """The video a frame folder's `video_id` was extracted from (its path without the extension)."""
    matches = sorted(p for p in (video_dir / video_id).parent.glob(Path(video_id).name + ".*") if p.is_file())
    if not matches:
        raise SystemExit(f"error: no video for '{video_id}' under '{video_dir}'; set the preset's video_dir to the "
                         f"folder the frames were extracted from.")
    return matches[0]


def timed_verdict(classifier, path: Path):
    start = time.perf_counter()
    verdict = classifier.classify(path)
    return verdict, time.perf_counter() - start


def run_fold(config, rows, subsets, fold_dir: Path, video_dir: Path, cache_dir: Path | None) -> dict:
    """Trains and exports one fold, classifies its held-out videos with the run and every artifact."""
    from toolkit.evaluation.cross_validation import fold_key
    from toolkit.export import ExportError, artifact_classifier, export_run
    from toolkit.temporal.inference import VideoClassifier
    from toolkit.training.trainer import train_run

    key = fold_key(config, rows, subsets, [], ["vote"]) + json.dumps(VARIANTS)
    done = fold_dir / "export_fold.json"
    if done.is_file():
        saved = json.loads(done.read_text())
        if saved.get("key") == key:
            return saved
    run_dir = fold_dir / "run"
    train_run(config, rows, subsets, run_dir, overwrite=True, aggregators=("vote",), feature_cache_dir=cache_dir,
              progress=False, log=lambda _: None)
    classifiers = {"keras": VideoClassifier.from_run(run_dir, "vote")}
    artifacts = {}
    for name, fmt, quantize in VARIANTS:
        out = fold_dir / "export" / (name + {"savedmodel": "", "tflite": ".tflite", "onnx": ".onnx"}[fmt])
        start = time.perf_counter()
        try:
            exported = export_run(run_dir, out, fmt, "vote", quantize)
        except ExportError as error:
            artifacts[name] = {"refused": str(error)}
            continue
        artifacts[name] = {"export_s": time.perf_counter() - start, "bytes": size_of(exported.path)}
        classifiers[name] = artifact_classifier(exported.path)
    held_out = sorted({r["video_id"] for r, s in zip(rows, subsets) if s == "test"})
    labels = {r["video_id"]: r["label"] for r in rows}
    clips = []
    for video_id in held_out:
        path = find_video(video_dir, video_id)
        clip = {"video": video_id, "label": labels[video_id]}
        for name, classifier in classifiers.items():
            if not clips:  # the first clip warms every backend up: the timings are after start-up
                timed_verdict(classifier, path)
            verdict, seconds = timed_verdict(classifier, path)
            clip[name] = {"probabilities": [verdict.probabilities[c] for c in classifier.class_names],
                          "top": verdict.top_label, "verdict": verdict.label, "seconds": seconds}
        clips.append(clip)
    result = {"key": key, "class_names": classifiers["keras"].class_names, "artifacts": artifacts, "clips": clips}
    done.write_text(json.dumps(result, indent=2))
    return result


def summarise(folds: list[dict]) -> dict:
    import numpy as np

    names = [name for name, *_ in VARIANTS]
    summary = {}
    for name in ["keras"] + names:
        refused = [f["artifacts"][name]["refused"] for f in folds if name != "keras" and "refused" in f["artifacts"][name]]
        if refused:
            summary[name] = {"refused": refused[0]}
            continue
        per_fold_accuracy, per_fold_change, differences, same_top, same_verdict, seconds = [], [], [], [], [], []
        speedup = []
        for fold in folds:
            right = [c[name]["top"] == c["label"] for c in fold["clips"]]
            reference = [c["keras"]["top"] == c["label"] for c in fold["clips"]]
            per_fold_accuracy.append(float(np.mean(right)))
            per_fold_change.append(float(np.mean(right) - np.mean(reference)))
            for c in fold["clips"]:
                differences.append(float(np.abs(np.subtract(c[name]["probabilities"],
                                                            c["keras"]["probabilities"])).max()))
                same_top.append(c[name]["top"] == c["keras"]["top"])
                same_verdict.append(c[name]["verdict"] == c["keras"]["verdict"])
                seconds.append(c[name]["seconds"])
                speedup.append(c["keras"]["seconds"] / c[name]["seconds"])
        entry = {"clips": len(differences), "accuracy_mean": float(np.mean(per_fold_accuracy)),
                 "accuracy_std": float(np.std(per_fold_accuracy)),
                 "accuracy_change_mean": float(np.mean(per_fold_change)),
                 "accuracy_change_std": float(np.std(per_fold_change)),
                 "max_probability_difference": max(differences), "mean_probability_difference":
                     float(np.mean(differences)), "same_top_class": float(np.mean(same_top)),
                 "same_verdict": float(np.mean(same_verdict)), "median_seconds_per_clip": statistics.median(seconds),
                 "median_speedup_over_keras": statistics.median(speedup)}
        if name != "keras":
            entry["megabytes"] = statistics.median(f["artifacts"][name]["bytes"] for f in folds) / 1e6
            entry["median_export_s"] = statistics.median(f["artifacts"][name]["export_s"] for f in folds)
        summary[name] = entry
    return summary


def table(summary: dict) -> str:
    lines = ["| backend | size (MB) | largest / mean probability difference | same top class | same verdict | "
             "accuracy (change from Keras) | median s per clip | Keras time / this, per clip (median) |",
             "|---|---|---|---|---|---|---|---|"]
    for name, entry in summary.items():
        if "refused" in entry:
            lines.append(f"| {name} | refused by the exporter | | | | | | |")
            continue
        size = f"{entry['megabytes']:.1f}" if "megabytes" in entry else "-"
        change = "" if name == "keras" else \
            f" ({entry['accuracy_change_mean']:+.3f} ± {entry['accuracy_change_std']:.3f})"
        lines.append(f"| {name} | {size} | {entry['max_probability_difference']:.1e} / "
                     f"{entry['mean_probability_difference']:.1e} | {entry['same_top_class']:.3f} | "
                     f"{entry['same_verdict']:.3f} | {entry['accuracy_mean']:.3f} ± {entry['accuracy_std']:.3f}"
                     f"{change} | {entry['median_seconds_per_clip']:.3f} | {entry['median_speedup_over_keras']:.2f}x |")
    return "\n".join(lines)


def cross_validated(config, rows, video_dir: Path, work: Path, repeats: int, cache_dir: Path | None) -> list[dict]:
    from toolkit.data.splits import kfold_manifest

    folds = []
    for repeat in range(repeats):
        seed = config.seed + repeat
        for k, subsets in enumerate(kfold_manifest(rows, config.folds, seed, config.validation_fraction)):
            start = time.perf_counter()
            folds.append(run_fold(config.replace(seed=seed), rows, subsets, work / f"seed_{seed}" / f"fold_{k}",
                                  video_dir, cache_dir))
            print(f"  fold seed {seed}, fold {k}: {len(folds[-1]['clips'])} held-out clips "
                  f"({time.perf_counter() - start:.0f} s)", flush=True)
    return folds


def smoke() -> int:
    from smoke import tiny_frames, tiny_videos, work_dir

    from toolkit.config import Config
    from toolkit.data.manifest import read_manifest

    work = work_dir("export_parity")
    videos = tiny_videos(work / "videos", ("squat", "push_up"), 3)
    frames = tiny_frames(work / "frames", videos)
    config = Config(model_name="custom_cnn", frames_per_video=4, image_size=48, head_epochs=1, epochs=1,
                    batch_size=8, early_stopping_patience=1, frame_head_units=8, validation_fraction=0.25,
                    calibration_folds=0, folds=2, seed=0, frames_dir=str(frames)).validate()
    folds = cross_validated(config, read_manifest(frames), videos, work / "folds", 1, None)
    print(table(summarise(folds[:1])))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="the preset (frames_dir, video_dir, the encoder and the folds)")
    parser.add_argument("--repeats", type=int, default=1, help="fold seeds: the preset's seed and the next ones")
    parser.add_argument("--smoke", action="store_true",
                        help="two folds of a tiny synthetic run, every artifact, in a temporary folder (CI); no figures")
    args = parser.parse_args(argv)
    if args.smoke:
        return smoke()
    if not args.config:
        parser.error("--config is required (or --smoke)")
    from toolkit.config import load_config_module
    from toolkit.data.manifest import read_manifest

    config = load_config_module(args.config)
    rows = read_manifest(ROOT / config.frames_dir)
    stem = Path(args.config).stem
    print(f"{stem}: {len({r['video_id'] for r in rows})} videos, {config.folds} folds x {args.repeats} fold seeds")
    folds = cross_validated(config, rows, ROOT / config.video_dir, ROOT / "runs" / "bench_export" / stem,
                            args.repeats, ROOT / config.frames_dir / "feature_cache")
    summary = summarise(folds)
    out = ROOT / "benchmarks" / "results" / f"export_{stem}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"config": args.config, "repeats": args.repeats, "folds": len(folds),
                               "summary": summary}, indent=2))
    print(table(summary))
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
