"""Scoring a run: frame level (the frame head) and video level for every aggregator, on cached features.

The same code scores a run just trained (`TrainedRun`) and a run loaded from
disk (`load_run_models`): the encoder's features of every frame come from the
feature cache (frozen encoders share it with training, so scoring costs no
encoder pass), and each aggregator's head runs on clips of those features,
exactly as inside its saved model.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Mapping, Sequence

import keras
import numpy as np

from toolkit.evaluation.metrics import classification_report, format_report, save_report
from toolkit.evaluation.rejection import rejection_report
from toolkit.temporal.heads import build_vote_head
from toolkit.temporal.layers import VotePooling
from toolkit.temporal.run_files import RunInfo, load_video_model, read_run_info
from toolkit.temporal.video_model import split_video_model
from toolkit.training.features import FeatureCache, clip_arrays, frame_arrays
from toolkit.training.heads import evidence_frames, predict_arrays
from toolkit.training.trainer import TrainedRun
from workout_runtime.verdicts import OTHER, REJECTION_SCORES, exercise_scores, rule_from_info


@dataclasses.dataclass
class RunModels:
    """What scoring needs of a run: its encoder, frame head and per-aggregator heads."""

    info: RunInfo
    encoder: keras.Model
    frame_head: keras.Model
    heads: dict[str, keras.Model]


def load_run_models(run_dir: str | os.PathLike) -> RunModels:
    """The encoder and heads of a saved run, taken out of its video models.

    Raises:
        RunError: not a run, or a damaged model file.
    """
    info = read_run_info(run_dir)
    heads, encoder = {}, None
    for aggregator in info.aggregators:
        encoder_part, heads[aggregator] = split_video_model(load_video_model(run_dir, aggregator, info))
        encoder = encoder or encoder_part
    frame_head = heads["vote"].get_layer("frame_probabilities").layer
    return RunModels(info, encoder, frame_head, heads)


def models_of(trained: TrainedRun) -> RunModels:
    return RunModels(trained.info, trained.encoder, trained.frame_head, trained.heads)


def run_features(models: RunModels, rows: Sequence[Mapping], cache_dir: str | os.PathLike,
                 progress: bool = True) -> dict[str, np.ndarray]:
    """Encoder features of `rows`' frames, from (and into) the feature cache in `cache_dir`."""
    return FeatureCache(cache_dir, models.info.model_name, models.info.frame_size).get(models.encoder, rows, progress)


def score_run(models: RunModels, rows: Sequence[Mapping], features: Mapping[str, np.ndarray],
              vote_methods: Sequence[str] = VotePooling.METHODS, seed: int = 0, out_dir: str | os.PathLike | None = None,
              prefix: str = "test", unit: str = "videos") -> dict[str, dict]:
    """Reports on `rows` at frame level and per aggregator at video level.

    Args:
        models: the run's models.
        rows: the frames to score (a test split, or another folder).
        features: their encoder features by path (`run_features`, or a `TrainedRun`'s).
        vote_methods: vote pooling methods to score (each from the same frame head).
        seed: for the bootstrap intervals.
        out_dir: with it, every report is saved as JSON, text and a confusion-matrix PNG.
        prefix: report file prefix ("test", "external", "fold").
        unit: what a sample is at video level ("videos", or "images" for image folders).

    Returns:
        {"frame": ..., "video_<method>": ..., "video_lstm": ..., "video_transformer": ...}; for an image
        folder (`unit="images"`, one frame per sample) the one report {"image": ...}.
    """
    class_names, num_frames = models.info.class_names, models.info.num_frames
    frames = frame_arrays(rows, features, class_names)
    if unit == "images":
        # Every image is scored, a body or not: one without is a wrong answer, not a skipped one.
        predictions = predict_arrays(models.frame_head, frames["features"]).argmax(1)
        reports = {"image": classification_report(frames["labels"], predictions, class_names, frames["groups"],
                                                  seed)}
        if out_dir is not None:
            save_report(reports["image"], out_dir, f"{prefix}_image", f"{prefix} set (images)")
        return reports
    # With an "other" class the classification figures are on the exercise videos, each named by its top
    # exercise (as a verdict names it), so they compare with runs without negatives; what "unknown" does to
    # exercises and to negatives is the "rejection" part of each video report.
    other = class_names.index(OTHER) if OTHER in class_names else None
    exercises = [c for c in class_names if c != OTHER]
    x, y = evidence_frames(frames)
    seen = np.any(frames["features"] != 0, axis=-1)
    keep = y != other if other is not None else np.ones(len(y), bool)
    frame_predictions = _top_exercise(predict_arrays(models.frame_head, x), other)
    reports = {"frame": classification_report(y[keep], frame_predictions[keep], exercises,
                                              frames["groups"][seen][keep], seed)}
    clips = clip_arrays(rows, features, class_names, num_frames)
    is_exercise = clips["labels"] != other if other is not None else np.ones(len(clips["labels"]), bool)
    evidence = np.any(clips["features"] != 0, axis=-1).sum(axis=1)
    heads = {f"video_{m}": build_vote_head(models.frame_head, num_frames, m) for m in vote_methods}
    heads.update({f"video_{a}": h for a, h in models.heads.items() if a != "vote"})
    for name, head in heads.items():
        probabilities = predict_arrays(head, clips["features"])
        predictions = _top_exercise(probabilities, other)
        reports[name] = classification_report(clips["labels"][is_exercise], predictions[is_exercise], exercises,
                                              clips["groups"][is_exercise], seed)
        aggregator = "vote" if name[6:] in VotePooling.METHODS else name[6:]
        settings = models.info.aggregators.get(aggregator, {})
        reports[name]["rejection"] = rejection_figures(probabilities, clips["labels"], evidence, num_frames,
                                                       rule_from_info(settings), other)
        # Every clip's outputs, so that figures pooled over folds (benchmarks/rejection_cv.py) need no rerun.
        reports[name]["clips"] = {"video_ids": clips["video_ids"].tolist(), "labels": clips["labels"].tolist(),
                                  "evidence": evidence.tolist(),
                                  "probabilities": np.round(probabilities, 5).tolist()}
    if out_dir is not None:
        frame_level = "frames with evidence" if models.info.frame_size is None else "frames"
        for name, report in reports.items():
            level = frame_level if name == "frame" else f"{unit}, {name[6:]}"
            save_report(report, out_dir, f"{prefix}_{name}", f"{prefix} set ({level})")
    return reports


def _top_exercise(probabilities: np.ndarray, other: int | None) -> np.ndarray:
    """Per row, the index of the top exercise among the exercise classes (the "other" column dropped)."""
    if other is None:
        return probabilities.argmax(1)
    return np.delete(probabilities, other, axis=1).argmax(1)


def rejection_figures(probabilities: np.ndarray, labels: np.ndarray, evidence: np.ndarray, num_frames: int,
                      rule, other: int | None) -> dict:
    """What a run's rule does on labelled clips: exercises refused, and with negatives, negatives accepted and the
    AUROC of every candidate score (exercises against negatives; a clip without evidence scores 0)."""
    is_exercise = labels != other if other is not None else np.ones(len(labels), bool)
    refused = np.array([rule.judge(p, int(e), num_frames) is not None for p, e in zip(probabilities, evidence)],
                       dtype=bool)
    figures = {"threshold": rule.threshold, "score": rule.score,
               "exercises": int(is_exercise.sum()),
               "exercises_refused": float(refused[is_exercise].mean()) if is_exercise.any() else None}
    top = _top_exercise(probabilities, other)
    exercise_labels = labels if other is None else np.where(labels > other, labels - 1, labels)
    accepted_correct = (~refused) & (top == exercise_labels) & is_exercise
    figures["exercises_accepted_and_right"] = float(accepted_correct[is_exercise].mean()) if is_exercise.any() else None
    if other is not None and (~is_exercise).any() and is_exercise.any():
        seen = evidence >= max(1.0, rule.min_evidence * num_frames)
        figures["negatives"] = int((~is_exercise).sum())
        figures["negatives_accepted"] = float((~refused[~is_exercise]).mean())
        figures["auroc"] = {}
        for score in REJECTION_SCORES:
            values = np.where(seen, exercise_scores(probabilities, other, score), 0.0)
            figures["auroc"][score] = rejection_report(values[is_exercise], values[~is_exercise], None)["auroc"]
    return figures


def summarise(reports: Mapping[str, dict], prefix: str = "test") -> str:
    """The reports as text, one block each."""
    return "\n".join(format_report(r, f"{prefix} {name.replace('_', ' ')}") for name, r in reports.items())


def train_and_evaluate(config, rows: Sequence[Mapping], subsets: Sequence[str], run_dir: str | os.PathLike, *,
                       aggregators: Sequence[str], feature_cache_dir: str | os.PathLike, overwrite: bool = False,
                       dataset: Mapping | None = None, verbose: int | str = 2) -> dict[str, dict]:
    """What the training recipes do: `train_run`, then reports on the test split saved in the run folder.

    Returns the test reports ({} when the split has no test side).
    """
    from toolkit.data.splits import split_rows
    from toolkit.training.trainer import train_run

    trained = train_run(config, rows, subsets, run_dir, aggregators=aggregators, feature_cache_dir=feature_cache_dir,
                        overwrite=overwrite, dataset=dataset, verbose=verbose)
    test_rows = split_rows(rows, subsets)["test"]
    if not test_rows:
        return {}
    unit = (dataset or {}).get("unit", "videos")
    return score_run(models_of(trained), test_rows, trained.features, VotePooling.METHODS, config.seed, run_dir,
                     "test", unit)
