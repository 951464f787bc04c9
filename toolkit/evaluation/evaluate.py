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
from pathlib import Path
from typing import Mapping, Sequence

import keras
import numpy as np

from toolkit.evaluation.metrics import classification_report, format_report, save_report
from toolkit.temporal.heads import build_vote_head
from toolkit.temporal.layers import VotePooling
from toolkit.temporal.run_files import RunInfo, load_video_model, read_run_info
from toolkit.temporal.video_model import split_video_model
from toolkit.training.features import FeatureCache, clip_arrays, frame_arrays
from toolkit.training.heads import evidence_frames, predict_arrays
from toolkit.training.trainer import TrainedRun


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
    x, y = evidence_frames(frames)
    seen = np.any(frames["features"] != 0, axis=-1)
    reports = {"frame": classification_report(y, predict_arrays(models.frame_head, x).argmax(1), class_names,
                                              frames["groups"][seen], seed)}
    clips = clip_arrays(rows, features, class_names, num_frames)
    heads = {f"video_{m}": build_vote_head(models.frame_head, num_frames, m) for m in vote_methods}
    heads.update({f"video_{a}": h for a, h in models.heads.items() if a != "vote"})
    for name, head in heads.items():
        predictions = predict_arrays(head, clips["features"]).argmax(1)
        reports[name] = classification_report(clips["labels"], predictions, class_names, clips["groups"], seed)
    if out_dir is not None:
        frame_level = "frames with evidence" if models.info.frame_size is None else "frames"
        for name, report in reports.items():
            level = frame_level if name == "frame" else f"{unit}, {name[6:]}"
            save_report(report, out_dir, f"{prefix}_{name}", f"{prefix} set ({level})")
    return reports


def summarise(reports: Mapping[str, dict], prefix: str = "test") -> str:
    """The reports as text, one block each."""
    return "\n".join(format_report(r, f"{prefix} {name.replace('_', ' ')}") for name, r in reports.items())


def evaluate_saved_run(run_dir: str | os.PathLike, rows: Sequence[Mapping], cache_dir: str | os.PathLike,
                       out_dir: str | os.PathLike | None = None, prefix: str = "test", seed: int = 0,
                       unit: str = "videos") -> dict[str, dict]:
    """`score_run` for a run on disk: loads its models, features from the cache in `cache_dir`."""
    models = load_run_models(run_dir)
    features = run_features(models, rows, cache_dir)
    return score_run(models, rows, features, seed=seed, out_dir=Path(out_dir) if out_dir else None, prefix=prefix,
                     unit=unit)


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
