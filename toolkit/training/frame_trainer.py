"""Training a frame classifier from a manifest and a grouped split.

The run directory receives everything needed to reproduce and audit the run:
`model.keras` (best on validation), `class_names.json`, `config.json`,
`split.csv`, `training_log.csv`, `training_curves.png`, and evaluation
reports written by the recipes.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path
from typing import Mapping, Sequence

import keras
import numpy as np

from toolkit.config import Config, config_to_dict
from toolkit.data.augment import AugmentConfig
from toolkit.data.pipeline import class_weights, make_frame_dataset
from toolkit.data.splits import check_no_leakage, save_split, split_rows
from toolkit.evaluation.plots import plot_training_curves
from toolkit.models import build_frame_classifier, get_frame_model_spec
from toolkit.training.fine_tuning import freeze_backbone, unfreeze_top_layers

MODEL_FILE = "model.keras"


def compile_classifier(model: keras.Model, learning_rate: float) -> None:
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])


def make_callbacks(run_dir: Path, stage: str, monitor: str, patience: int,
                   best_so_far: float | None = None) -> list[keras.callbacks.Callback]:
    """Early stopping and best checkpoint on validation, LR decay, resumable backup, CSV log."""
    # (fit gets shuffle=False: the training dataset shuffles itself each epoch.)
    return [
        keras.callbacks.EarlyStopping(monitor=monitor, patience=patience, restore_best_weights=True),
        keras.callbacks.ModelCheckpoint(str(run_dir / MODEL_FILE), monitor=monitor, save_best_only=True,
                                        initial_value_threshold=best_so_far),
        keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=0.3, patience=max(1, patience // 2),
                                          min_lr=1e-7),
        # Resumes an interrupted stage from its last finished epoch.
        keras.callbacks.BackupAndRestore(str(run_dir / "backup" / stage)),
        keras.callbacks.CSVLogger(str(run_dir / "training_log.csv"), append=True),
    ]


def save_run_metadata(run_dir: Path, config: Config, class_names: Sequence[str], rows: Sequence[Mapping],
                      subsets: Sequence[str]) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.json").write_text(json.dumps(config_to_dict(config), indent=2))
    (run_dir / "class_names.json").write_text(json.dumps(list(class_names)))
    save_split(run_dir, rows, subsets)


def load_class_names(run_dir: str | os.PathLike) -> list[str]:
    path = Path(run_dir) / "class_names.json"
    if not path.is_file():
        raise FileNotFoundError(f"'{run_dir}' is not a training run (no class_names.json). Point --run at "
                                f"a folder written by recipes/train_image_classifier.py.")
    return json.loads(path.read_text())


def train_frame_classifier(config: Config, rows: Sequence[Mapping], subsets: Sequence[str],
                           run_dir: str | os.PathLike, class_names: Sequence[str] | None = None,
                           verbose: int | str = "auto", check_leakage: bool = True) -> keras.Model:
    """Trains `config.model_name` on the "train" rows, selecting on "validation".

    Pretrained backbones (weights not None) train in two stages: the head on
    a frozen backbone for `config.epochs`, then the top `fine_tune_layers`
    layers at `fine_tune_learning_rate` for `fine_tune_epochs`, with
    BatchNormalization frozen. Models from scratch train end to end for
    `config.epochs`. The test rows are never looked at here. The split is
    checked for leakage first; only a deliberate comparison with the leaky
    protocol (`naive_frame_split`) passes `check_leakage=False`.

    Returns:
        The model with the best validation weights (also saved as `model.keras`).
    """
    run_dir = Path(run_dir)
    if check_leakage:
        check_no_leakage([r["group"] for r in rows], subsets, [r["video_id"] for r in rows])
    parts = split_rows(rows, subsets)
    if not parts["train"]:
        raise ValueError("The split has no training rows.")
    class_names = list(class_names or sorted({r["label"] for r in rows}))
    save_run_metadata(run_dir, config, class_names, rows, subsets)
    augment = AugmentConfig() if config.augment else None
    train = make_frame_dataset(parts["train"], class_names, config.image_size, config.batch_size,
                               training=True, augment=augment, seed=config.seed)
    validation = None
    if parts["validation"]:
        validation = make_frame_dataset(parts["validation"], class_names, config.image_size, config.batch_size)
    monitor = "val_loss" if validation is not None else "loss"
    weights = class_weights(parts["train"], class_names)

    keras.utils.set_random_seed(config.seed)
    model = build_frame_classifier(config.model_name, len(class_names), config.image_size,
                                   config.weights, config.dropout)
    pretrained = config.weights is not None and get_frame_model_spec(config.model_name).pretrained
    stage1_weights = run_dir / "stage1.weights.h5"

    if pretrained:
        freeze_backbone(model)
    compile_classifier(model, config.learning_rate)
    log = run_dir / "training_log.csv"
    best = None
    stage1_epochs = config.epochs
    if pretrained and stage1_weights.is_file():
        # Stage 1 finished in an earlier, interrupted run: resume at stage 2.
        model.load_weights(stage1_weights)
        stage1_epochs = _logged_epochs(log)
    elif config.epochs > 0:
        history = model.fit(train, validation_data=validation, epochs=config.epochs, class_weight=weights, shuffle=False,
                            callbacks=make_callbacks(run_dir, "stage1", monitor, config.early_stopping_patience),
                            verbose=verbose)
        best = float(np.min(history.history[monitor]))
        stage1_epochs = len(history.history[monitor])
        if pretrained:
            model.save_weights(stage1_weights)
    boundaries = []
    if pretrained and config.fine_tune_epochs > 0:
        unfreeze_top_layers(model, config.fine_tune_layers)
        compile_classifier(model, config.fine_tune_learning_rate)
        boundaries = [stage1_epochs]
        model.fit(train, validation_data=validation, epochs=config.fine_tune_epochs, class_weight=weights, shuffle=False,
                  callbacks=make_callbacks(run_dir, "stage2", monitor, config.early_stopping_patience, best),
                  verbose=verbose)
    if not (run_dir / MODEL_FILE).is_file():
        model.save(run_dir / MODEL_FILE)
    if log.is_file():
        plot_training_curves(log, run_dir / "training_curves.png", boundaries)
    shutil.rmtree(run_dir / "backup", ignore_errors=True)
    return keras.models.load_model(run_dir / MODEL_FILE)


def _logged_epochs(log: Path) -> int:
    if not log.is_file():
        return 0
    return max(0, len(log.read_text().strip().splitlines()) - 1)


@dataclasses.dataclass
class Predictions:
    """Frame-level outputs of a model over manifest rows."""

    probabilities: np.ndarray  # (N, classes)
    labels: np.ndarray  # (N,) true class index
    rows: list


def predict_rows(model: keras.Model, rows: Sequence[Mapping], class_names: Sequence[str], image_size: int,
                 batch_size: int = 32) -> Predictions:
    """Class probabilities for every row, in order."""
    dataset = make_frame_dataset(rows, class_names, image_size, batch_size)
    probabilities = model.predict(dataset, verbose=0)
    index = {c: i for i, c in enumerate(class_names)}
    return Predictions(probabilities, np.array([index[r["label"]] for r in rows]), list(rows))
