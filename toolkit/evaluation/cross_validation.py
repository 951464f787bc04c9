"""Stratified group k-fold cross-validation of frame models and their aggregators.

Per fold the frame classifier is trained once; every aggregator (majority
vote, mean probability, confidence-weighted vote, LSTM on cached features)
is then scored on the same held-out videos, so their differences are not
differences of training luck. With a pose encoder (`movenet_*`), keypoints
are extracted once for all folds (cached) and each fold trains the pose
frame classifier and the pose LSTM.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from toolkit.config import Config
from toolkit.data.splits import kfold_manifest, split_rows
from toolkit.evaluation.evaluate import evaluate_frame_classifier
from toolkit.evaluation.video_eval import lstm_from_cached_features
from toolkit.models import get_feature_extractor, is_pose_model
from toolkit.training.frame_trainer import train_frame_classifier

METRICS = ("accuracy", "balanced_accuracy", "macro_f1")
FOLD_REPORT = "fold_reports.json"


def run_fold(config: Config, rows: Sequence[Mapping], subsets: np.ndarray, fold_dir: Path,
             class_names: Sequence[str], vote_methods: Sequence[str], lstm: bool,
             verbose: int | str = 2, pose_sequences: Mapping[str, np.ndarray] | None = None) -> dict[str, dict]:
    """Trains one fold and returns {aggregator: report} for its held-out videos.

    `pose_sequences` (keypoints per video) are needed for pose encoders.
    """
    done = fold_dir / FOLD_REPORT
    if done.is_file():  # A finished fold of an interrupted run: reuse it.
        return json.loads(done.read_text())
    if is_pose_model(config.model_name):
        from toolkit.training.pose_trainer import train_and_evaluate_pose_run

        _, reports = train_and_evaluate_pose_run(config, rows, subsets, fold_dir, class_names, pose_sequences,
                                                 vote_methods, verbose=0)
        if not lstm:
            reports.pop("video_lstm")
        done.write_text(json.dumps(reports, indent=2))
        return reports
    model = train_frame_classifier(config, rows, subsets, fold_dir, class_names, verbose=verbose)
    parts = split_rows(rows, subsets)
    reports = evaluate_frame_classifier(model, parts["test"], class_names, config.image_size, config.batch_size,
                                        methods=vote_methods, seed=config.seed, out_dir=fold_dir)
    if lstm:
        _, reports["video_lstm"], _ = lstm_from_cached_features(
            get_feature_extractor(model), rows, subsets, class_names, config, fold_dir / "feature_cache",
            out_dir=fold_dir)
    done.write_text(json.dumps(reports, indent=2))
    return reports


def cross_validate(config: Config, rows: Sequence[Mapping], out_dir: str | os.PathLike, folds: int | None = None,
                   vote_methods: Sequence[str] = ("majority", "mean"), lstm: bool = True,
                   verbose: int | str = 2, pose_cache_dir: str | os.PathLike | None = None) -> list[dict]:
    """Runs grouped k-fold CV and writes `summary.csv`, `summary.md` and `summary.png`.

    For pose encoders, keypoints are cached in `pose_cache_dir` (default
    `<out_dir>/pose_cache`; point it beside the frames to share it between runs).

    Returns:
        Summary rows: {aggregator, level, metric mean and std for each of
        accuracy, balanced accuracy and macro-F1, folds}.
    """
    from toolkit.evaluation.plots import plot_bars

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    folds = folds or config.folds
    class_names = sorted({r["label"] for r in rows})
    fold_subsets = kfold_manifest(rows, folds, config.seed, config.validation_fraction)
    pose_sequences = None
    if is_pose_model(config.model_name):
        from toolkit.training.pose_trainer import pose_sequences_for

        pose_sequences = pose_sequences_for(config, rows, pose_cache_dir or out / "pose_cache")
    per_fold = []
    for k, subsets in enumerate(fold_subsets):
        print(f"--- fold {k + 1}/{folds}: {len({r['video_id'] for r, s in zip(rows, subsets) if s == 'test'})} "
              f"held-out videos", flush=True)
        per_fold.append(run_fold(config, rows, subsets, out / f"fold_{k}", class_names, vote_methods, lstm,
                                 verbose, pose_sequences))
    summary = summarise_folds(per_fold)
    write_summary(summary, out, config, folds)
    plot_bars({f"{r['aggregator']}": r["accuracy_mean"] for r in summary}, out / "summary.png",
              f"{folds}-fold grouped CV accuracy ({config.model_name})", "accuracy (mean over folds)")
    return summary


def summarise_folds(per_fold: Sequence[Mapping[str, Mapping]]) -> list[dict]:
    """Mean and standard deviation over folds of each metric, per aggregator."""
    rows = []
    for name in per_fold[0]:
        row = {"aggregator": name, "level": "frame" if name == "frame" else "video", "folds": len(per_fold)}
        for metric in METRICS:
            values = np.array([fold[name][metric] for fold in per_fold])
            row[f"{metric}_mean"] = float(values.mean())
            row[f"{metric}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        rows.append(row)
    return rows


def write_summary(summary: Sequence[Mapping], out: Path, config: Config, folds: int) -> None:
    fields = ["aggregator", "level", "folds"] + [f"{m}_{s}" for m in METRICS for s in ("mean", "std")]
    with open(out / "summary.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(summary)
    lines = [f"# {folds}-fold stratified group cross-validation ({config.model_name}, "
             f"{config.frames_per_video} frames per video)", "",
             "| aggregator | level | accuracy | balanced accuracy | macro-F1 |", "|---|---|---|---|---|"]
    for r in summary:
        cells = [f"{r[f'{m}_mean']:.3f} ± {r[f'{m}_std']:.3f}" for m in METRICS]
        lines.append(f"| {r['aggregator']} | {r['level']} | " + " | ".join(cells) + " |")
    lines += ["", "Mean ± standard deviation over folds; no group (video, person, source) is on two sides."]
    (out / "summary.md").write_text("\n".join(lines) + "\n")
