"""Repeated stratified group k-fold cross-validation of a run's every aggregator.

Per fold, one run trains (`train_run`: the encoder if it trains, the frame
head, the LSTM and the transformer) and every aggregator is scored on the
same held-out videos, so their differences are not differences of training
luck. With `repeats > 1` the folds are drawn again with other seeds (seed,
seed + 1, ...): a figure that moves with the fold seed is one draw, not a
result, so the headline is the mean and standard deviation over all folds of
all repeats, with each repeat's mean beside it. Frozen encoders' features are
computed once and shared by every fold.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from toolkit.config import Config, config_to_dict
from toolkit.data.pipeline import PREPROCESSING
from toolkit.data.splits import kfold_manifest, split_rows
from toolkit.errors import DatasetError
from toolkit.evaluation.evaluate import models_of, score_run
from toolkit.temporal.heads import AGGREGATORS
from toolkit.training.trainer import train_run

METRICS = ("accuracy", "balanced_accuracy", "macro_f1")
FOLD_REPORT = "fold_reports.json"


def run_fold(config: Config, rows: Sequence[Mapping], subsets: np.ndarray, fold_dir: Path,
             vote_methods: Sequence[str], aggregators: Sequence[str],
             feature_cache_dir: str | os.PathLike | None = None, verbose: int | str = 0,
             unit: str = "videos") -> dict[str, dict]:
    """Trains one fold and returns {aggregator: report} for its held-out videos.

    A finished fold is reused only when its key (every setting, the frames and the split; `fold_key`) is the
    same; a fold of other settings is trained again, never reported under these.
    """
    done = fold_dir / FOLD_REPORT
    key = fold_key(config, rows, subsets, vote_methods, aggregators)
    if done.is_file():  # A finished fold of an interrupted run: reuse it if it was made the same way.
        try:
            saved = json.loads(done.read_text())
        except (OSError, json.JSONDecodeError):
            saved = {}
        if isinstance(saved, dict) and saved.get("key") == key and "reports" in saved:
            return saved["reports"]
    trained = train_run(config, rows, subsets, fold_dir, aggregators=aggregators, feature_cache_dir=feature_cache_dir,
                        overwrite=True, save_models=False, verbose=verbose, progress=False, log=lambda _: None)
    test_rows = split_rows(rows, subsets)["test"]
    reports = score_run(models_of(trained), test_rows, trained.features, vote_methods, config.seed, fold_dir,
                        prefix="test", unit=unit)
    done.write_text(json.dumps({"key": key, "reports": reports}, indent=2))
    return reports


def fold_key(config: Config, rows: Sequence[Mapping], subsets: Sequence[str], vote_methods: Sequence[str],
             aggregators: Sequence[str]) -> str:
    """A hash of everything a fold's figures depend on: the config, the frames (path, label, group), the split, what
    is scored, the frame preprocessing and the toolkit's version."""
    from toolkit.training.trainer import toolkit_version

    digest = hashlib.sha1(json.dumps({"config": config_to_dict(config), "vote_methods": list(vote_methods),
                                      "aggregators": list(aggregators), "version": toolkit_version(),
                                      "preprocessing": PREPROCESSING},
                                     sort_keys=True, default=str).encode())
    for row, subset in zip(rows, subsets):
        digest.update(f"{row.get('abs_path', row['path'])}|{row['label']}|{row['group']}|{subset}\n".encode())
    return digest.hexdigest()


def cross_validate(config: Config, rows: Sequence[Mapping], out_dir: str | os.PathLike, folds: int | None = None,
                   vote_methods: Sequence[str] = ("majority", "mean"), aggregators: Sequence[str] = AGGREGATORS,
                   repeats: int = 1, feature_cache_dir: str | os.PathLike | None = None,
                   verbose: int | str = 0, unit: str = "videos") -> list[dict]:
    """Runs repeated grouped k-fold CV; writes `summary.csv`, `summary.md` and `summary.png`.

    Args:
        config: the runs' config; `config.seed` seeds the first repeat's folds.
        rows: the frame manifest.
        out_dir: `repeat_<r>/fold_<k>/` per fold, and the summaries.
        folds: folds per repeat (default `config.folds`).
        vote_methods: vote pooling methods to score.
        aggregators: sequence heads to train besides voting.
        repeats: fold seeds to run.
        feature_cache_dir: where frozen encoders' features are cached
            (default `<out_dir>/feature_cache`; beside the frames shares them
            between runs).
        unit: "videos", or "images" for an image folder (scored per image).

    Returns:
        Summary rows: {aggregator, level, folds, repeats, <metric>_mean and
        _std over all folds, <metric>_repeat_means, chance levels}.
    """
    from toolkit.evaluation.plots import plot_cross_validation

    out = Path(out_dir)
    folds = folds or config.folds
    if not isinstance(repeats, int) or repeats < 1:
        raise DatasetError(f"Received: repeats={repeats!r}; expected an integer >= 1")
    # Every repeat's folds are drawn before any training or writing, so a bad --folds fails at once.
    plans = [kfold_manifest(rows, folds, config.seed + r, config.validation_fraction) for r in range(repeats)]
    out.mkdir(parents=True, exist_ok=True)
    cache = feature_cache_dir or out / "feature_cache"
    per_repeat: list[list[dict]] = []
    for r, fold_subsets in enumerate(plans):
        repeat_config = config.replace(seed=config.seed + r)
        per_repeat.append([])
        for k, subsets in enumerate(fold_subsets):
            held_out = len({row["video_id"] for row, s in zip(rows, subsets) if s == "test"})
            print(f"--- repeat {r + 1}/{repeats} (fold seed {repeat_config.seed}), fold {k + 1}/{folds}: "
                  f"{held_out} held-out {unit}", flush=True)
            per_repeat[-1].append(run_fold(repeat_config, rows, subsets, out / f"repeat_{r}" / f"fold_{k}",
                                           vote_methods, aggregators, cache, verbose, unit))
    summary = summarise_folds(per_repeat)
    audit = pixel_audit_summary(out, repeats, folds)
    print(audit, flush=True)
    write_summary(summary, out, config, folds, repeats, audit)
    plot_cross_validation(summary, per_repeat, out / "summary.png",
                          f"{folds}-fold grouped CV x {repeats} fold seed(s), {config.model_name}")
    return summary


def summarise_folds(per_repeat: Sequence[Sequence[Mapping[str, Mapping]]]) -> list[dict]:
    """Mean and standard deviation over every fold of every repeat, each repeat's mean, chance levels."""
    all_folds = [fold for repeat in per_repeat for fold in repeat]
    rows = []
    for name in all_folds[0]:
        row = {"aggregator": name, "level": name if name in ("frame", "image") else "video", "folds": len(all_folds),
               "repeats": len(per_repeat)}
        for metric in METRICS:
            values = np.array([fold[name][metric] for fold in all_folds])
            row[f"{metric}_mean"] = float(values.mean())
            row[f"{metric}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
            row[f"{metric}_repeat_means"] = [float(np.mean([f[name][metric] for f in repeat])) for repeat in per_repeat]
        for chance in ("chance_uniform", "chance_majority"):
            row[chance] = float(np.mean([fold[name].get(chance, np.nan) for fold in all_folds]))
        row.update(_rejection_summary([fold[name].get("rejection") or {} for fold in all_folds]))
        rows.append(row)
    return rows


def _rejection_summary(folds: Sequence[Mapping]) -> dict:
    """Mean and standard deviation over folds of what "unknown" did (folds without a figure left out)."""
    values: dict[str, list[float]] = {}
    for fold in folds:
        for key in ("exercises_refused", "exercises_accepted_and_right", "negatives_accepted"):
            if fold.get(key) is not None:
                values.setdefault(key, []).append(fold[key])
        for score, auroc in (fold.get("auroc") or {}).items():
            values.setdefault(f"auroc_{score}", []).append(auroc)
    return {f"{key}_{stat}": float(f(v)) for key, v in values.items()
            for stat, f in (("mean", np.mean), ("std", lambda x: np.std(x, ddof=1) if len(x) > 1 else 0.0))}


def pixel_audit_summary(out: Path, repeats: int, folds: int) -> str:
    """One line on what every fold's pixel audit found (`leakage_audit.json`): held-out videos with a frame
    nearly identical to a training frame, over all folds, and the largest share in one fold."""
    leaking = held_out = 0
    shares, unit, distance, missing = [], "videos", None, 0
    for r in range(repeats):
        for k in range(folds):
            path = out / f"repeat_{r}" / f"fold_{k}" / "leakage_audit.json"
            if not path.is_file():
                missing += 1
                continue
            audit = json.loads(path.read_text())
            leaking += len(audit["leaking_videos"])
            held_out += audit["held_out_videos"]
            shares.append(len(audit["leaking_videos"]) / max(audit["held_out_videos"], 1))
            unit, distance = audit.get("unit", unit), audit["max_distance"]
    if not shares:
        return "pixel audit: not recorded by these folds (trained before version 0.4)"
    note = f" ({missing} folds without a record)" if missing else ""
    if not leaking:
        return (f"pixel audit: no held-out frame of any fold is within {distance} pHash bits of a training frame"
                f"{note}")
    return (f"pixel audit: {leaking} of {held_out} held-out {unit} over all folds ({leaking / held_out:.0%}; at most "
            f"{max(shares):.0%} in one fold) have a frame within {distance} pHash bits of a training frame: the same "
            f"picture on both sides, so the figures are optimistic by that much{note}")


def write_summary(summary: Sequence[Mapping], out: Path, config: Config, folds: int, repeats: int = 1,
                  audit: str | None = None) -> None:
    fields = (["aggregator", "level", "folds", "repeats"] + [f"{m}_{s}" for m in METRICS for s in ("mean", "std")]
              + ["chance_uniform", "chance_majority"])
    with open(out / "summary.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(summary)
    (out / "summary.json").write_text(json.dumps(list(summary), indent=2))
    lines = [f"# {folds}-fold stratified group cross-validation x {repeats} fold seed(s) ({config.model_name}, "
             f"{config.frames_per_video} frames per video)", "",
             "| aggregator | level | accuracy | balanced accuracy | macro-F1 | accuracy per fold seed | chance |",
             "|---|---|---|---|---|---|---|"]
    for r in summary:
        cells = [f"{r[f'{m}_mean']:.3f} ± {r[f'{m}_std']:.3f}" for m in METRICS]
        seeds = ", ".join(f"{v:.3f}" for v in r["accuracy_repeat_means"])
        lines.append(f"| {r['aggregator']} | {r['level']} | " + " | ".join(cells)
                     + f" | {seeds} | {r['chance_uniform']:.2f} uniform, {r['chance_majority']:.2f} majority |")
    rejection = [r for r in summary if "exercises_refused_mean" in r]
    if rejection:
        scores = sorted({k[len("auroc_"):-len("_mean")] for r in rejection for k in r if k.startswith("auroc_")
                         and k.endswith("_mean")})
        lines += ["", "\"unknown\" on the held-out videos (the run's own rule):", "",
                  "| aggregator | exercises refused | exercises accepted and right | negatives accepted | "
                  + " | ".join(f"AUROC {s}" for s in scores) + " |",
                  "|---|---|---|---|" + "---|" * len(scores)]
        for r in rejection:
            def cell(key):
                return f"{r[key + '_mean']:.3f} ± {r[key + '_std']:.3f}" if key + "_mean" in r else "-"
            lines.append(f"| {r['aggregator']} | {cell('exercises_refused')} | {cell('exercises_accepted_and_right')}"
                         f" | {cell('negatives_accepted')} | " + " | ".join(cell(f"auroc_{s}") for s in scores) + " |")
    lines += ["", f"Mean ± standard deviation over all {summary[0]['folds']} folds (seeds {config.seed}.."
                  f"{config.seed + repeats - 1}); no group (as the data gives them) is on two sides of any fold; "
                  f"{audit or pixel_audit_summary(out, repeats, folds)}.",
              "Chance: guessing uniformly, and always naming each fold's most frequent class (mean over folds)."]
    (out / "summary.md").write_text("\n".join(lines) + "\n")
