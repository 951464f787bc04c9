"""Training a pixel encoder with its frame head on frames: from scratch, or fine-tuning pretrained weights.

Two cases, both `model.fit` on augmented uint8 frame batches:

* from scratch (custom_cnn, or `weights=None`): encoder and frame head train
  together for `config.epochs`;
* fine-tuning a pretrained encoder (`fine_tune_epochs > 0`): the frame head
  has already trained on cached features of the frozen encoder (stage 1,
  seconds); then the encoder's top `fine_tune_layers` layers train with it at
  `fine_tune_learning_rate` (stage 2), BatchNormalization frozen. The best
  checkpoint starts from stage 1's validation loss, so fine-tuning can only
  replace the stage-1 model by a better one.

Interrupted training resumes: `BackupAndRestore` restarts at the last
finished epoch, and the best checkpoint keeps the best validation loss the
log recorded before the interruption.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from typing import Mapping, Sequence

import keras

from toolkit.data.augment import AugmentConfig
from toolkit.data.pipeline import class_weights, make_frame_dataset
from toolkit.models.frame_head import build_frame_classifier
from toolkit.training.fine_tuning import set_top_layers_trainable

CHECKPOINT_DIR = "checkpoints"
FRAME_CLASSIFIER_FILE = "frame_classifier.keras"
ENCODER_LOG = "training_log.csv"


def best_logged(log: Path, monitor: str) -> float | None:
    """The lowest `monitor` value in a CSVLogger file, or None."""
    if not log.is_file():
        return None
    with open(log, newline="") as f:
        values = [float(r[monitor]) for r in csv.DictReader(f) if r.get(monitor) not in (None, "", "NA")]
    return min(values) if values else None


def train_encoder(config, encoder: keras.Model, frame_head: keras.Model, train_rows: Sequence[Mapping],
                  validation_rows: Sequence[Mapping], class_names: Sequence[str], run_dir: str | Path,
                  fine_tune: bool, verbose: int | str = "auto", replicas: int = 1) -> tuple[keras.Model, keras.Model]:
    """Trains `encoder` with `frame_head` on frames; returns their best (encoder, frame head).

    Args:
        config: the run's config.
        encoder: a pixel encoder (square frames of `config.image_size`).
        frame_head: its frame head (already trained on cached features when
            `fine_tune`).
        train_rows, validation_rows: manifest rows of each side.
        class_names: the label order.
        run_dir: checkpoints, backups and the log go here.
        fine_tune: stage 2 of a pretrained encoder instead of training from scratch.
        replicas: devices of the distribution strategy in use; each gets
            `config.batch_size` frames per step.
    """
    run_dir = Path(run_dir)
    checkpoints = run_dir / CHECKPOINT_DIR
    checkpoints.mkdir(parents=True, exist_ok=True)
    model = build_frame_classifier(encoder, frame_head)
    batch_size = config.batch_size * replicas
    train = make_frame_dataset(train_rows, class_names, config.image_size, batch_size, training=True,
                               augment=AugmentConfig() if config.augment else None, seed=config.seed)
    validation = (make_frame_dataset(validation_rows, class_names, config.image_size, batch_size)
                  if validation_rows else None)
    monitor = "val_loss" if validation is not None else "loss"
    if fine_tune:
        set_top_layers_trainable(encoder, config.fine_tune_layers)
        learning_rate, epochs = config.fine_tune_learning_rate, config.fine_tune_epochs
    else:
        encoder.trainable = True
        learning_rate, epochs = config.learning_rate, config.epochs
    keras.utils.set_random_seed(config.seed)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    log = run_dir / ENCODER_LOG
    best = best_logged(log, monitor)  # an interrupted run: keep its best so far
    if best is None and fine_tune and validation is not None:
        best = float(model.evaluate(validation, verbose=0, return_dict=True)["loss"])  # stage 1's level
        if not (checkpoints / FRAME_CLASSIFIER_FILE).is_file():
            model.save(checkpoints / FRAME_CLASSIFIER_FILE)
    # (fit gets shuffle=False: the training dataset shuffles itself each epoch.)
    callbacks = [
        keras.callbacks.EarlyStopping(monitor=monitor, patience=config.early_stopping_patience,
                                      restore_best_weights=True),
        keras.callbacks.ModelCheckpoint(str(checkpoints / FRAME_CLASSIFIER_FILE), monitor=monitor,
                                        save_best_only=True, initial_value_threshold=best),
        keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=0.3, patience=max(1, config.early_stopping_patience
                                                                                      // 2), min_lr=1e-7),
        # Resumes an interrupted fit from its last finished epoch.
        keras.callbacks.BackupAndRestore(str(run_dir / "backup")),
        keras.callbacks.CSVLogger(str(log), append=True),
    ]
    if epochs > 0:
        model.fit(train, validation_data=validation, epochs=epochs, shuffle=False, verbose=verbose,
                  class_weight=class_weights(train_rows, class_names), callbacks=callbacks)
    shutil.rmtree(run_dir / "backup", ignore_errors=True)
    if (checkpoints / FRAME_CLASSIFIER_FILE).is_file():
        model = keras.models.load_model(checkpoints / FRAME_CLASSIFIER_FILE)
    trained_encoder, trained_head = model.get_layer("encoder"), model.get_layer("frame_head")
    trained_encoder.trainable = False
    return trained_encoder, trained_head
