"""One trainer for every encoder: a run folder with a Keras model per aggregator.

    train_run(config, rows, subsets, "runs/squats")

1. Checks before writing anything: at least two classes, a training side, no
   group or video on two sides of the split, the encoder and its weights
   (an offline machine learns here that ImageNet weights cannot be fetched,
   not after a half-written run folder).
2. The encoder: pretrained encoders stay frozen (pose, and pixel encoders
   with `fine_tune_epochs = 0`); a pixel encoder without pretrained weights
   trains from scratch with its frame head; a pretrained one can be
   fine-tuned after its head has trained (`encoder_training`).
3. Features of every frame, cached (`features`), and the heads on them
   (`heads`): the frame head, then the LSTM and the transformer on clips.
4. Rejection rules calibrated on out-of-fold predictions of the training videos (`calibration`).
5. One video model per aggregator, saved as `<aggregator>.keras`, and
   `run.json` marked complete. An interrupted run resumes when started again
   with the same settings; a finished one is never overwritten silently.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Mapping, Sequence

import keras
import numpy as np
import tensorflow as tf

from toolkit.config import Config, config_to_dict
from toolkit.data.pipeline import class_names_of
from toolkit.data.splits import LeakageError, audit_pixels, check_no_leakage, save_split, split_rows
from toolkit.errors import DatasetError, RunError
from toolkit.models.frame_head import build_frame_head
from toolkit.models.registry import PIXEL_ENCODERS, EncoderInfo, build_encoder, encoder_info
from toolkit.temporal.heads import AGGREGATORS, SEQUENCE_AGGREGATORS, build_vote_head
from toolkit.temporal.run_files import COMPLETE, RUN_FILE, RunInfo, read_run_info, video_model_file
from toolkit.temporal.video_model import build_video_model
from toolkit.training.curves import plot_training_curves
from toolkit.training.distribute import is_chief, replicas, training_strategy
from toolkit.training.encoder_training import CHECKPOINT_DIR, ENCODER_LOG, train_encoder
from toolkit.training.features import FeatureCache, clip_arrays, frame_arrays
from toolkit.training.calibration import calibrate_rule, out_of_fold_predictions
from toolkit.training.heads import evidence_frames, fit_frame_head, fit_sequence_head, predict_arrays
from workout_runtime.repetitions import learn_motion
from workout_runtime.locks import LOCK_NAME
from workout_runtime.verdicts import OTHER

FEATURE_CACHE = "feature_cache"


@dataclasses.dataclass
class TrainedRun:
    """A trained run in memory: what evaluation needs without reloading anything.

    Attributes:
        run_dir: where it was written.
        info: its `run.json`.
        encoder: the (trained or pretrained) encoder.
        frame_head: the per-frame head.
        heads: per aggregator, the head on clip features `(B, T, F)`.
        features: encoder features of every frame of the manifest, by path.
    """

    run_dir: Path
    info: RunInfo
    encoder: keras.Model
    frame_head: keras.Model
    heads: dict[str, keras.Model]
    features: dict[str, np.ndarray]


def encoder_plan(config: Config, info: EncoderInfo) -> tuple[bool, bool, str]:
    """(train from scratch, fine-tune, a sentence saying what happens to the encoder)."""
    if not info.trainable:
        return False, False, (f"{info.model_name}: pretrained and frozen; every frame's features are cached and "
                              f"the heads train on them")
    pretrained = PIXEL_ENCODERS[info.pixel].pretrained and config.weights is not None
    if not pretrained:
        reason = ("has no pretrained weights" if config.weights == "imagenet"
                  else "starts from random weights (weights=None)")
        if config.weights not in (None, "imagenet"):
            reason = f"starts from {config.weights}"
        return True, False, (f"{info.model_name} {reason}: trained from scratch with its frame head for up to "
                             f"{config.epochs} epochs")
    if config.fine_tune_epochs > 0:
        return False, True, (f"{info.model_name} ({'ImageNet' if config.weights == 'imagenet' else config.weights}"
                             f" weights): heads on cached features, then the top {config.fine_tune_layers} layers "
                             f"fine-tuned for up to {config.fine_tune_epochs} epochs")
    return False, False, (f"{info.model_name} ({'ImageNet' if config.weights == 'imagenet' else config.weights} "
                          f"weights), frozen: every frame's features are cached and the heads train on them "
                          f"(fine_tune_epochs > 0 also fine-tunes it)")


def prepare_run_dir(run_dir: Path, config: Config, overwrite: bool = False) -> bool:
    """Makes `run_dir` ready; returns whether an interrupted run with the same settings resumes there.

    Raises:
        RunError: it holds a finished run (without `overwrite`), an interrupted
            run with other settings (without `overwrite`), or files that are
            not a run (never deleted).
    """
    if not run_dir.exists():
        return False
    if not (run_dir / RUN_FILE).is_file():
        if any(p.name != LOCK_NAME for p in run_dir.iterdir()):  # the lock of the process training it is no file
            raise RunError(f"'{run_dir}' exists and is not a run folder; choose another --name (the folder is "
                           f"left as it is).")
        return False
    try:
        info = read_run_info(run_dir)
        recorded = json.loads((run_dir / "config.json").read_text())
    except (RunError, OSError, json.JSONDecodeError):
        info, recorded = None, {}
    if overwrite:
        for child in run_dir.iterdir():  # all but the lock its trainer holds
            if child.name != LOCK_NAME:
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        return False
    if info is not None and info.status == COMPLETE:
        raise RunError(f"'{run_dir}' holds a finished run (last written {info.updated}). Choose another --name, "
                       f"or pass --overwrite to replace it.")
    wanted = config_to_dict(config)
    changed = sorted(k for k in wanted if recorded.get(k) != wanted[k])
    if changed:
        details = ", ".join(f"{k}: {recorded.get(k)!r} -> {wanted[k]!r}" for k in changed[:4])
        raise RunError(f"'{run_dir}' holds an interrupted run started with other settings ({details}). Run the "
                       f"same command to resume it, choose another --name, or pass --overwrite to start over.")
    return True


def _calibrate(config: Config, parts, frames, clips, features, class_names, heads, frame_head, info,
               other_class: int | None, log: Callable[[str], None]) -> dict[str, dict]:
    """Each aggregator's rejection rule (and the frame head's, for images) with what it does, as run.json records it.

    Cross-fitted on the training videos (`toolkit.training.calibration`) unless `calibration_folds` is 0 or the
    training side has a single group; then on the validation videos.
    """
    sequence = [a for a in heads if a != "vote"]
    validation = ({"frames": frames["validation"], "clips": clips["validation"]}
                  if len(clips["validation"]["labels"]) else None)
    oof = None
    if config.calibration_folds:
        oof = out_of_fold_predictions(parts["train"], features, validation, class_names, config, sequence,
                                      info.frame_head_exclude, info.pose_features)
    if oof is not None:
        source = f"out-of-fold predictions of {len(oof.labels)} training videos ({oof.folds} grouped folds)"
        predicted = {a: (oof.clips[a], oof.labels, oof.evidence) for a in heads}
        frame_set = (oof.frames, oof.frame_labels)
    else:
        source = f"the {len(clips['validation']['labels'])} validation videos"
        evidence = np.any(clips["validation"]["features"] != 0, axis=-1).sum(axis=1)
        predicted = {a: (predict_arrays(h, clips["validation"]["features"]), clips["validation"]["labels"], evidence)
                     for a, h in heads.items()}
        x, y = evidence_frames(frames["validation"]) if validation else (np.zeros((0, 1)), np.zeros((0,), int))
        frame_set = (predict_arrays(frame_head, x) if len(x) else np.zeros((0, len(class_names))), y)
    score = config.rejection_score
    if score == "auto":
        score = "exercise_probability" if other_class is not None else "max_probability"
    result = {}
    for aggregator, (probabilities, labels, evidence) in predicted.items():
        rule, stats = calibrate_rule(probabilities, labels, evidence, config.frames_per_video, config.accept_rate,
                                     other_class, score, operating_point=config.operating_point)
        result[aggregator] = {**rule.to_dict(), **stats, "accept_rate": config.accept_rate, "calibration": source}
    frame_rule, _ = calibrate_rule(frame_set[0], frame_set[1], np.ones(len(frame_set[1])), 1, config.accept_rate,
                                   other_class, score, 1.0, config.operating_point)
    result["frame"] = {"threshold": frame_rule.threshold}
    vote = result["vote"]
    interval = vote["exercises_refused_interval"]
    if vote["exercises_refused"] is not None:
        log(f"unknown: calibrated on {source}; the vote rule refuses {vote['exercises_refused']:.1%} of them "
            f"(95 % interval {interval[0]:.1%}-{interval[1]:.1%})"
            + (f" and accepts {vote['negatives_accepted']:.1%} of {vote['negatives']} negatives"
               if vote.get("negatives") else ""))
    return result


def train_run(config: Config, rows: Sequence[Mapping], subsets: Sequence[str], run_dir: str | Path, *,
              aggregators: Sequence[str] = AGGREGATORS, feature_cache_dir: str | Path | None = None,
              overwrite: bool = False, check_leakage: bool = True, save_models: bool = True,
              dataset: Mapping | None = None, verbose: int | str = 0, progress: bool = True,
              log: Callable[[str], None] = print) -> TrainedRun:
    """Trains every aggregator of a run on the "train" rows, selecting on "validation".

    Args:
        config: the run's validated config.
        rows: frame-manifest rows (path, label, video_id, group, ...).
        subsets: "train", "validation" or "test" per row (a grouped split).
        run_dir: the run folder.
        aggregators: which video models to train ("vote" always comes with the frame head).
        feature_cache_dir: where frozen encoders' features are cached (share it
            between runs on the same frames, e.g. `<frames>/feature_cache`);
            default `<run_dir>/feature_cache`. Trained encoders always cache
            inside the run.
        overwrite: replace a finished (or differently configured) run in `run_dir`.
        check_leakage: False only for the deliberate leaky-protocol benchmark.
        save_models: write the `.keras` video models (cross-validation folds skip them).
        dataset: how to read the data again (recorded in run.json for evaluation).
        verbose: Keras' fit verbosity.
        progress: progress bars for feature extraction.
        log: where one-line progress notes go.

    Returns:
        The `TrainedRun`.

    Raises:
        DatasetError, LeakageError, RunError, ConfigError, WeightsUnavailableError, PoseModelError.
    """
    run_dir = Path(run_dir)
    class_names, audit, parts = _checked_inputs(config, rows, subsets, aggregators, check_leakage)
    info = encoder_info(config.model_name, config.image_size, config.person_gate)
    from_scratch, fine_tune, plan = encoder_plan(config, info)
    # Only an encoder that trains runs under tf.distribute: the heads are tiny and train in seconds on
    # cached features, and Keras' LSTM does not split a last, smaller batch over replicas.
    strategy = training_strategy(config.distribute) if from_scratch or fine_tune else tf.distribute.get_strategy()
    num_replicas = replicas(strategy)
    if not is_chief(strategy):
        # Every worker of a multi-worker run trains in step; only the chief's run folder is the run.
        run_dir = Path(tempfile.mkdtemp(prefix="worker-run-"))
        log(f"multi-worker training: this worker writes to {run_dir}; the chief writes the run")
    # The encoder is built before anything is written: missing weights stop the run here.
    with strategy.scope():  # its variables live on the strategy's devices
        encoder = build_encoder(config.model_name, config.image_size, config.weights, config.pose_model_dir,
                                config.person_gate)
    run_info, resuming = _start_run_dir(run_dir, config, rows, subsets, class_names, info, aggregators, dataset,
                                        audit, overwrite, log)
    log(("resuming the interrupted run in " if resuming else "training ") + f"{run_dir}: {plan}"
        + (f"; {num_replicas} replicas ({config.distribute})" if num_replicas > 1 else ""))
    encoder, frame_head, features, frames = _train_frames(
        config, encoder, rows, parts, class_names, info, from_scratch, fine_tune, strategy, run_dir,
        feature_cache_dir, progress, verbose)
    clips = {side: clip_arrays(part, features, class_names, config.frames_per_video) for side, part in parts.items()}
    has_validation = len(frames["validation"]["labels"]) > 0
    heads = {"vote": build_vote_head(frame_head, config.frames_per_video, config.vote_method)}
    for aggregator in (a for a in SEQUENCE_AGGREGATORS if a in aggregators):
        heads[aggregator] = fit_sequence_head(aggregator, clips["train"], clips["validation"] if has_validation
                                              else None, len(class_names), config, info.pose_features,
                                              run_dir / f"training_log_{aggregator}.csv", verbose)
    encoder.trainable = False
    other_class = class_names.index(OTHER) if OTHER in class_names else None
    if other_class is not None:
        log(f"negatives: {sum(1 for v in {r['video_id']: r for r in parts['train'] if r['label'] == OTHER})} "
            f"training videos of '{OTHER}' (not an exercise)")
    calibration = _calibrate(config, parts, frames, clips, features, class_names, heads, frame_head, info, other_class,
                             log)
    _save_models(run_dir, run_info, config, info, encoder, heads, calibration, clips, save_models)
    _plot_logs(run_dir)
    shutil.rmtree(run_dir / CHECKPOINT_DIR, ignore_errors=True)
    run_info.status = COMPLETE
    run_info.write(run_dir)
    return TrainedRun(run_dir, run_info, encoder, frame_head, heads, features)


def _checked_inputs(config: Config, rows, subsets, aggregators, check_leakage: bool):
    """(class names, the pixel audit or None, rows by subset), or the reason the data cannot train a run."""
    unknown = sorted(set(aggregators) - set(AGGREGATORS))
    if unknown:
        raise ValueError(f"Received: aggregators={list(aggregators)!r}; expected a subset of {list(AGGREGATORS)}")
    class_names = class_names_of(rows)
    if len(class_names) < 2:
        raise DatasetError(f"The dataset '{config.frames_dir}' holds one class, {', '.join(map(repr, class_names))}; "
                           f"a classifier needs at least two (one folder per class: <folder>/<class>/...).")
    audit = None
    if check_leakage:
        check_no_leakage([r["group"] for r in rows], subsets, [r["video_id"] for r in rows])
        audit = audit_pixels(rows, subsets)
        if audit.share > config.near_duplicate_tolerance:
            raise LeakageError(
                f"The split leaks by pixels: {audit.describe()[len('pixel audit: '):]}. Frames this close are one "
                f"picture, so the groups miss a shared source: give groups (--group-csv, --group-pattern), infer "
                f"them (extract_frames.py --group-near-duplicates 10), or accept it with --near-duplicate-tolerance "
                f"1.")
    parts = split_rows(rows, subsets)
    if not parts["train"]:
        raise DatasetError("The split has no training videos; lower test_fraction and validation_fraction.")
    return class_names, audit, parts


def _start_run_dir(run_dir: Path, config: Config, rows, subsets, class_names, info, aggregators, dataset, audit,
                   overwrite: bool, log) -> tuple[RunInfo, bool]:
    """Writes what a run folder holds before training (its config, classes, split and run.json in progress);
    returns the run's info and whether an interrupted run is resumed."""
    resuming = prepare_run_dir(run_dir, config, overwrite)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.json").write_text(json.dumps(config_to_dict(config), indent=2))
    (run_dir / "class_names.json").write_text(json.dumps(class_names))
    save_split(run_dir, rows, subsets)
    run_info = RunInfo(model_name=info.model_name, class_names=class_names, num_frames=config.frames_per_video,
                       frame_size=info.frame_size, max_side=info.max_side, aggregators={},
                       default_aggregator=config.temporal if config.temporal in aggregators else "vote",
                       toolkit_version=toolkit_version(), frames_dir=str(config.frames_dir), dataset=dict(dataset or {}))
    run_info.write(run_dir)
    if audit is not None:
        (run_dir / "leakage_audit.json").write_text(json.dumps(dataclasses.asdict(audit), indent=2))
        log(audit.describe())
    return run_info, resuming


def _train_frames(config: Config, encoder, rows, parts, class_names, info, from_scratch: bool, fine_tune: bool,
                  strategy, run_dir: Path, feature_cache_dir, progress: bool, verbose):
    """The encoder (trained from scratch, fine-tuned or frozen), the frame head, every frame's features and the
    frames' arrays by subset."""
    num_classes, exclude, num_replicas = len(class_names), info.frame_head_exclude, replicas(strategy)
    frame_head = None
    if from_scratch:
        with strategy.scope():
            frame_head = build_frame_head(encoder.output_shape[-1], num_classes, config.frame_head_units,
                                          config.dropout, exclude)
            encoder, frame_head = train_encoder(config, encoder, frame_head, parts["train"], parts["validation"],
                                                class_names, run_dir, fine_tune=False, verbose=verbose,
                                                replicas=num_replicas, strategy=strategy)
    cache_dir = run_dir / FEATURE_CACHE if from_scratch else Path(feature_cache_dir or run_dir / FEATURE_CACHE)
    features = FeatureCache(cache_dir, info.model_name, info.frame_size).get(encoder, rows, progress=progress)
    frames = {side: frame_arrays(part, features, class_names) for side, part in parts.items()}
    if frame_head is None:
        has_validation = len(frames["validation"]["labels"]) > 0
        frame_head = fit_frame_head(frames["train"], frames["validation"] if has_validation else None, num_classes,
                                    config, exclude, run_dir / "training_log_frame_head.csv", verbose)
        if fine_tune:
            with strategy.scope():
                if num_replicas > 1:  # trained outside the strategy: its variables must become the strategy's
                    weights = frame_head.get_weights()
                    frame_head = keras.models.clone_model(frame_head)
                    frame_head.set_weights(weights)
                encoder, frame_head = train_encoder(config, encoder, frame_head, parts["train"],
                                                    parts["validation"], class_names, run_dir, fine_tune=True,
                                                    verbose=verbose, replicas=num_replicas, strategy=strategy)
            cache = FeatureCache(run_dir / FEATURE_CACHE, info.model_name, info.frame_size)
            features = cache.get(encoder, rows, progress=progress)
    return encoder, frame_head, features, frames


def _save_models(run_dir: Path, run_info: RunInfo, config: Config, info, encoder, heads, calibration, clips,
                 save_models: bool) -> None:
    """Each aggregator's video model and rule into the run, and for pose runs each exercise's counting signal."""
    for aggregator, head in heads.items():
        entry = {"file": video_model_file(aggregator) if save_models else None, **calibration[aggregator]}
        if aggregator == "vote":
            entry["method"] = config.vote_method
            entry["frame_threshold"] = calibration["frame"]["threshold"]
        if save_models:
            model = build_video_model(encoder, head, config.frames_per_video, info.frame_size,
                                      name=f"{aggregator}_video_model")
            model.save(run_dir / entry["file"])
        run_info.aggregators[aggregator] = entry
    if info.pose_features:  # which signal each exercise's repetitions are counted on
        class_names = run_info.class_names
        by_class = {name: [clip for clip, label in zip(clips["train"]["features"], clips["train"]["labels"])
                           if label == k] for k, name in enumerate(class_names) if name != OTHER}
        # Training clips are T frames spread over each video: their rate is T per video, about 4 a second.
        run_info.repetitions = learn_motion(by_class)


def _plot_logs(run_dir: Path) -> None:
    for log in sorted(run_dir.glob("training_log*.csv")):
        name = "training_curves.png" if log.name == ENCODER_LOG else log.stem.replace("training_log", "curves") + ".png"
        plot_training_curves(log, run_dir / name)


def toolkit_version() -> str:
    """The installed toolkit's version, or "unknown"."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("workout-toolkit")
    except PackageNotFoundError:
        return "unknown"
