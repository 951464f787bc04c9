"""Pose runs: MoveNet keypoints per frame, a per-frame classifier for voting, an LSTM over the sequence.

A pose encoder replaces the pixel frame classifier. Its keypoints are cached
per video (`toolkit.temporal.pose_sequences`); on them two small heads train
in seconds, so a pose run always trains both and `classify_video` can use
either:

* `pose_frame_model.keras`: static pose features of one frame -> class
  probabilities; pooled over a video's frames by majority, mean or
  confidence-weighted vote;
* `pose_sequence_model.keras`: the LSTM sequence head over `(T, 96)` pose
  features (coordinates, visibility, velocities, root motion).

The run folder also holds `config.json`, `class_names.json`, `split.csv`,
the training logs and the test reports, like a pixel run.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Mapping, Sequence

import keras
import numpy as np

from toolkit.config import Config
from toolkit.data.manifest import rows_by_video
from toolkit.data.pipeline import balanced_class_weights
from toolkit.data.splits import check_no_leakage
from toolkit.evaluation.metrics import classification_report, save_report
from toolkit.models.pose import MoveNet
from toolkit.models.pose_classifier import build_pose_frame_classifier
from toolkit.models.pose_features import STATIC_FEATURES
from toolkit.models.registry import POSE_MODELS
from toolkit.temporal.layers import VotePooling
from toolkit.temporal.pose_sequences import extract_pose_sequences, pose_feature_arrays
from toolkit.training.frame_trainer import save_run_metadata
from toolkit.training.video_trainer import train_sequence_head

POSE_FRAME_MODEL_FILE = "pose_frame_model.keras"
POSE_SEQUENCE_MODEL_FILE = "pose_sequence_model.keras"


@dataclasses.dataclass
class PoseModels:
    """The two heads of a pose run."""

    frame_model: keras.Model
    sequence_model: keras.Model


def load_pose_encoder(model_name: str, pose_model_dir: str | os.PathLike) -> MoveNet:
    """The MoveNet variant registered as `model_name` (e.g. "movenet_lightning").

    Raises:
        ValueError: `model_name` is not a pose encoder.
        PoseModelError: the model files are missing or malformed.
    """
    if model_name not in POSE_MODELS:
        raise ValueError(f"Received: model_name={model_name!r}; expected a pose encoder, one of {list(POSE_MODELS)}")
    return MoveNet(POSE_MODELS[model_name], pose_model_dir)


def pose_sequences_for(config: Config, rows: Sequence[Mapping], cache_dir: str | os.PathLike,
                       progress: bool = True) -> dict[str, np.ndarray]:
    """Keypoints per video of a frame manifest with `config.model_name`, cached in `cache_dir`."""
    encoder = load_pose_encoder(config.model_name, config.pose_model_dir)
    return extract_pose_sequences(encoder, rows, cache_dir, progress=progress)


def split_pose_arrays(sequences: Mapping[str, np.ndarray], rows: Sequence[Mapping], subsets: Sequence[str],
                      class_names: Sequence[str], num_frames: int) -> dict[str, dict[str, np.ndarray]]:
    """Per subset, the sequence-head arrays of its videos plus their groups."""
    index = {c: i for i, c in enumerate(class_names)}
    videos = rows_by_video(rows)
    side = {r["video_id"]: s for r, s in zip(rows, subsets)}
    out = {}
    for name in ("train", "validation", "test"):
        ids = sorted(v for v, s in side.items() if s == name)
        arrays = pose_feature_arrays(sequences, ids, [index[videos[v][0]["label"]] for v in ids], num_frames)
        arrays["groups"] = np.asarray([videos[v][0]["group"] for v in ids])
        out[name] = arrays
    return out


def _static_frames(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`(..., F)` pose features -> their static part and the mask of frames where a body was seen."""
    static = features[..., :STATIC_FEATURES]
    return static, np.abs(static).sum(-1) > 0


def _frames_of(arrays: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Static features and labels of every frame where the pose model saw a body."""
    static, seen = _static_frames(arrays["features"])
    labels = np.broadcast_to(arrays["labels"][:, None], seen.shape)
    return static[seen], labels[seen]


def fit_pose_heads(config: Config, data: Mapping[str, Mapping[str, np.ndarray]], run_dir: str | os.PathLike,
                   num_classes: int, verbose: int | str = 0) -> PoseModels:
    """Trains the per-frame pose classifier and the LSTM sequence head on `data["train"]`.

    `data` is what `split_pose_arrays` returns. Both heads select on the
    validation videos (early stopping restores the best weights) for at most
    `config.lstm_epochs` epochs, with balanced class weights, and are saved
    in `run_dir`.
    """
    run_dir = Path(run_dir)
    if not len(data["train"]["labels"]):
        raise ValueError("The split has no training videos.")
    has_validation = len(data["validation"]["labels"]) > 0

    keras.utils.set_random_seed(config.seed)
    x, y = _frames_of(data["train"])
    if not len(x):
        raise ValueError(f"The pose model ({config.model_name}) found no body in any training frame; "
                         f"check that the frames show a person.")
    frame_model = build_pose_frame_classifier(num_classes, dropout=config.dropout)
    frame_model.compile(keras.optimizers.Adam(config.learning_rate), "sparse_categorical_crossentropy",
                        metrics=["accuracy"])
    validation = _frames_of(data["validation"]) if has_validation else None
    monitor = "val_loss" if validation is not None and len(validation[0]) else "loss"
    run_dir.mkdir(parents=True, exist_ok=True)
    frame_model.fit(x, y, batch_size=config.batch_size, epochs=config.lstm_epochs, verbose=verbose,
                    validation_data=validation if monitor == "val_loss" else None,
                    class_weight=balanced_class_weights(np.bincount(y, minlength=num_classes)),
                    callbacks=[keras.callbacks.EarlyStopping(monitor=monitor, patience=config.early_stopping_patience,
                                                             restore_best_weights=True),
                               keras.callbacks.CSVLogger(str(run_dir / "training_log.csv"))])
    frame_model.save(run_dir / POSE_FRAME_MODEL_FILE)

    sequence_model = train_sequence_head(data["train"], data["validation"] if has_validation else None,
                                         num_classes, config.lstm_units, config.lstm_epochs,
                                         patience=max(config.early_stopping_patience, 8), seed=config.seed,
                                         log_dir=run_dir / "lstm", verbose=verbose)
    sequence_model.save(run_dir / POSE_SEQUENCE_MODEL_FILE)
    return PoseModels(frame_model, sequence_model)


def _predict(model: keras.Model, inputs: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    # Direct calls: the heads are tiny, and `predict` retraces (and warns) for
    # every new model, as cross-validation makes one per fold.
    return np.concatenate([keras.ops.convert_to_numpy(model(inputs[i:i + batch_size], training=False))
                           for i in range(0, len(inputs), batch_size)])


def pose_frame_probabilities(frame_model: keras.Model, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`(V, T, F)` pose features -> `(V, T, K)` frame probabilities and the `(V, T)` frames with a body."""
    static, seen = _static_frames(features)
    flat = static.reshape(-1, STATIC_FEATURES)
    probabilities = _predict(frame_model, flat) if len(flat) else np.zeros((0, 1))
    return probabilities.reshape(*static.shape[:2], -1), seen


def vote_pose_frames(probabilities: np.ndarray, seen: np.ndarray, method: str) -> np.ndarray:
    """Pools `(V, T, K)` frame probabilities per video over the frames with a body.

    A video where no frame showed a body falls back to all its frames (the
    verdict then says little, but every video gets one).
    """
    mask = seen | ~seen.any(axis=1, keepdims=True)
    return np.asarray(keras.ops.convert_to_numpy(VotePooling(method)(probabilities, frame_mask=mask)))


def evaluate_pose_classifiers(models: PoseModels, test: Mapping[str, np.ndarray], class_names: Sequence[str],
                              methods: Sequence[str] = VotePooling.METHODS, seed: int = 0,
                              out_dir: str | os.PathLike | None = None, prefix: str = "test") -> dict:
    """Reports at frame level, per vote method and for the LSTM, on the `test` arrays.

    Frame level counts the frames where a body was found. Returns
    {"frame": ..., "video_<method>": ..., "video_lstm": ...}; with `out_dir`
    each report is saved as JSON, text and a confusion-matrix PNG.
    """
    labels, groups = test["labels"], test["groups"]
    probabilities, seen = pose_frame_probabilities(models.frame_model, test["features"])
    frame_labels = np.broadcast_to(labels[:, None], seen.shape)[seen]
    frame_groups = np.broadcast_to(groups[:, None], seen.shape)[seen]
    reports = {"frame": classification_report(frame_labels, probabilities[seen].argmax(-1), class_names,
                                              frame_groups, seed)}
    for method in methods:
        pooled = vote_pose_frames(probabilities, seen, method)
        reports[f"video_{method}"] = classification_report(labels, pooled.argmax(1), class_names, groups, seed)
    sequence = _predict(models.sequence_model, test["features"])
    reports["video_lstm"] = classification_report(labels, sequence.argmax(1), class_names, groups, seed)
    if out_dir is not None:
        for name, report in reports.items():
            level = {"frame": "frames with a body", "video_lstm": "videos, LSTM"}.get(name, f"videos, {name[6:]} vote")
            save_report(report, out_dir, f"{prefix}_{name}", f"{prefix} set ({level})")
    return reports


def train_and_evaluate_pose_run(config: Config, rows: Sequence[Mapping], subsets: Sequence[str],
                                run_dir: str | os.PathLike, class_names: Sequence[str],
                                sequences: Mapping[str, np.ndarray], methods: Sequence[str] = VotePooling.METHODS,
                                verbose: int | str = 0) -> tuple[PoseModels, dict]:
    """A pose run on a split: both heads trained (`fit_pose_heads`), then scored on the test videos.

    The split is checked for leakage first; the run's metadata, both models
    and the test reports are written to `run_dir`. Returns the models and the
    reports ({} when the split has no test videos).
    """
    check_no_leakage([r["group"] for r in rows], subsets, [r["video_id"] for r in rows])
    class_names = list(class_names)
    save_run_metadata(Path(run_dir), config, class_names, rows, subsets)
    data = split_pose_arrays(sequences, rows, subsets, class_names, config.frames_per_video)
    models = fit_pose_heads(config, data, run_dir, len(class_names), verbose)
    if not len(data["test"]["labels"]):
        return models, {}
    return models, evaluate_pose_classifiers(models, data["test"], class_names, methods, config.seed, run_dir)


def train_pose_run(config: Config, rows: Sequence[Mapping], subsets: Sequence[str], run_dir: str | os.PathLike,
                   pose_cache_dir: str | os.PathLike, progress: bool = True) -> dict:
    """What the training recipes do with a pose encoder: keypoints (cached), both heads, test reports.

    Returns the test reports ({} without test videos).
    """
    class_names = sorted({r["label"] for r in rows})
    sequences = pose_sequences_for(config, rows, pose_cache_dir, progress)
    _, reports = train_and_evaluate_pose_run(config, rows, subsets, run_dir, class_names, sequences, verbose=0)
    return reports


def load_pose_models(run_dir: str | os.PathLike) -> PoseModels:
    """The two heads saved in a pose run folder."""
    run_dir = Path(run_dir)
    missing = [n for n in (POSE_FRAME_MODEL_FILE, POSE_SEQUENCE_MODEL_FILE) if not (run_dir / n).is_file()]
    if missing:
        raise FileNotFoundError(f"'{run_dir}' is not a complete pose run (missing {missing}); train it with "
                                f"recipes/train_video_classifier.py --model-name movenet_lightning.")
    return PoseModels(keras.models.load_model(run_dir / POSE_FRAME_MODEL_FILE),
                      keras.models.load_model(run_dir / POSE_SEQUENCE_MODEL_FILE))


def evaluate_pose_run(run_dir: str | os.PathLike, run_config: Mapping, rows: Sequence[Mapping],
                      class_names: Sequence[str], pose_cache_dir: str | os.PathLike,
                      out_dir: str | os.PathLike | None = None, prefix: str = "test") -> dict:
    """Reports of a saved pose run on every video of `rows` (keypoints cached in `pose_cache_dir`)."""
    sequences = pose_sequences_for(Config(**run_config), rows, pose_cache_dir)
    test = split_pose_arrays(sequences, rows, ["test"] * len(rows), class_names,
                             int(run_config["frames_per_video"]))["test"]
    return evaluate_pose_classifiers(load_pose_models(run_dir), test, class_names,
                                     seed=int(run_config.get("seed", 0)), out_dir=out_dir, prefix=prefix)
