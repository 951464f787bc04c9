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

Under `MultiWorkerMirroredStrategy` (`distribute = "multiworker"`) Keras 3's
`model.fit` fails (keras-team/keras#20585), so the same training runs through
a custom loop (`fit_custom_loop`: `strategy.run` over a GradientTape step, the
same loss, class weights, augmentation, early stopping and best weights); on
one machine `model.fit` stays the path.
"""

from __future__ import annotations

import csv
import math
import shutil
import tempfile
from pathlib import Path
from typing import Mapping, Sequence

import keras
import numpy as np
import tensorflow as tf

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
                  fine_tune: bool, verbose: int | str = "auto", replicas: int = 1,
                  strategy: tf.distribute.Strategy | None = None) -> tuple[keras.Model, keras.Model]:
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
        strategy: the strategy in use; a `MultiWorkerMirroredStrategy` trains
            through `fit_custom_loop` instead of `model.fit`.
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
    multiworker = isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
    # An interrupted run keeps its best so far; a multi-worker run restarts its encoder training (only the chief
    # has the log, and every worker must take the same decisions).
    best = None if multiworker else best_logged(log, monitor)
    if best is None and fine_tune and validation is not None and not multiworker:
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
    if epochs > 0 and multiworker:
        fit_custom_loop(model, strategy, train_rows, validation, class_names, config, learning_rate, epochs, log,
                        checkpoints / FRAME_CLASSIFIER_FILE, best, fine_tune)
    elif epochs > 0:
        model.fit(train, validation_data=validation, epochs=epochs, shuffle=False, verbose=verbose,
                  class_weight=class_weights(train_rows, class_names), callbacks=callbacks)
    shutil.rmtree(run_dir / "backup", ignore_errors=True)
    # (Multi-worker: the loop restored the best weights on every worker; loading would create variables on the
    # chief alone.)
    if (checkpoints / FRAME_CLASSIFIER_FILE).is_file() and not multiworker:
        model = keras.models.load_model(checkpoints / FRAME_CLASSIFIER_FILE)
    trained_encoder, trained_head = model.get_layer("encoder"), model.get_layer("frame_head")
    trained_encoder.trainable = False
    return trained_encoder, trained_head


def fit_custom_loop(model: keras.Model, strategy: tf.distribute.Strategy, train_rows: Sequence[Mapping],
                    validation: tf.data.Dataset | None, class_names: Sequence[str], config, learning_rate: float,
                    epochs: int, log: Path, checkpoint: Path, best: float | None, fine_tune: bool = False) -> None:
    """What `model.fit` does for `train_encoder`, as a loop every worker of `strategy` runs in step.

    Each step takes `batch_size` frames per replica (every worker's dataset sharded by element), computes the
    class-weighted cross-entropy over the global batch in a GradientTape and applies the gradients, which the
    strategy sums over all replicas. After each epoch every worker scores the whole validation set (the same
    weights give the same loss, so all stop together); the best weights are kept and restored (when
    fine-tuning, only if they beat stage 1's validation loss), and the chief alone writes the log and the
    checkpoint. Models and their optimizer must have been built under
    `strategy.scope()`.
    Unlike the single-machine path, the learning rate stays fixed (no ReduceLROnPlateau) and an interrupted
    run restarts the encoder's training instead of resuming it.
    """
    from toolkit.training.distribute import is_chief

    global_batch = config.batch_size * strategy.num_replicas_in_sync
    steps = max(1, math.ceil(len(train_rows) / global_batch))
    train = make_frame_dataset(train_rows, class_names, config.image_size, global_batch, training=True,
                               augment=AugmentConfig() if config.augment else None, seed=config.seed).repeat()
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    batches = iter(strategy.experimental_distribute_dataset(train.with_options(options)))
    weights = class_weights(train_rows, class_names)
    weight_of_class = tf.constant([weights.get(i, 0.0) for i in range(len(class_names))], tf.float32)
    with strategy.scope():
        optimizer = keras.optimizers.Adam(learning_rate)
    train_step = _train_step(model, strategy, optimizer, weight_of_class, global_batch)

    def validation_scores() -> tuple[float, float]:
        return _validation_scores(model, validation)

    def agreed(value: float) -> float:
        """The mean over the workers of a number each computed, so that all take the same decision with it."""
        per_replica = strategy.run(lambda: tf.constant(value, tf.float32))
        return float(strategy.reduce(tf.distribute.ReduceOp.MEAN, per_replica, axis=None))

    chief = is_chief(strategy)
    # Saving reads the mirrored variables with collective ops, so every worker saves; only the chief's file is kept.
    scratch = Path(tempfile.mkdtemp(prefix="worker-checkpoint-")) / checkpoint.name

    def save() -> None:
        model.save(checkpoint if chief else scratch)

    try:
        _loop(model, epochs, steps, global_batch, batches, train_step, validation_scores if validation is not None
              else None, agreed, save, best, fine_tune, chief, log, config.early_stopping_patience)
    finally:  # interrupted or not, a worker's scratch checkpoint goes
        shutil.rmtree(scratch.parent, ignore_errors=True)


def _loop(model, epochs: int, steps: int, global_batch: int, batches, train_step, validation_scores, agreed, save,
          best: float | None, fine_tune: bool, chief: bool, log: Path, patience: int) -> None:
    """The epochs of `fit_custom_loop`: train, score, keep the best weights, stop early."""
    if best is None and fine_tune and validation_scores is not None:  # stage 1's level: fine-tuning must beat it
        best = agreed(validation_scores()[0])
        save()
    best = math.inf if best is None else best
    best_weights, waited = None, 0
    for epoch in range(epochs):
        results = np.array([[float(value) for value in train_step(next(batches))] for _ in range(steps)])
        loss, accuracy = float(results[:, 0].mean()), float(results[:, 1].sum() / (steps * global_batch))
        val_loss, val_accuracy = validation_scores() if validation_scores is not None else ("NA", "NA")
        monitored = agreed(val_loss) if validation_scores is not None else loss
        if chief:
            _append_log(log, [epoch, accuracy, loss, val_accuracy, val_loss])
        if monitored < best:
            best, best_weights, waited = monitored, model.get_weights(), 0
            save()
        else:
            waited += 1
            if waited > patience:
                break
    if best_weights is not None:
        model.set_weights(best_weights)


def _append_log(log: Path, row: list) -> None:
    """One epoch's row of a training log (CSV, as Keras' CSVLogger writes it)."""
    new = not log.is_file()
    with open(log, "a", newline="") as f:
        writer = csv.writer(f)
        if new:
            writer.writerow(["epoch", "accuracy", "loss", "val_accuracy", "val_loss"])
        writer.writerow(row)


def _train_step(model, strategy, optimizer, weight_of_class, global_batch: int):
    """One distributed step: every replica's class-weighted loss and gradients, summed over replicas."""

    def replica_step(images, labels):
        with tf.GradientTape() as tape:
            probabilities = model(images, training=True)
            per_frame = keras.losses.sparse_categorical_crossentropy(labels, probabilities)
            per_frame = per_frame * tf.gather(weight_of_class, labels)
            loss = tf.nn.compute_average_loss(per_frame, global_batch_size=global_batch)
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        right = tf.reduce_sum(tf.cast(tf.argmax(probabilities, -1, output_type=labels.dtype) == labels, tf.float32))
        return loss, right

    @tf.function
    def train_step(batch):
        loss, right = strategy.run(replica_step, args=batch)
        return (strategy.reduce(tf.distribute.ReduceOp.SUM, loss, axis=None),
                strategy.reduce(tf.distribute.ReduceOp.SUM, right, axis=None))

    return train_step


def _validation_scores(model, validation) -> tuple[float, float]:
    """Mean loss and accuracy of `model` on a validation dataset of (images, labels) batches."""
    total, right, count = 0.0, 0.0, 0
    for images, labels in validation:
        probabilities = model(images, training=False)
        per_frame = keras.losses.sparse_categorical_crossentropy(labels, probabilities)
        total += float(tf.reduce_sum(per_frame))
        right += float(tf.reduce_sum(tf.cast(tf.argmax(probabilities, -1, output_type=labels.dtype) == labels,
                                             tf.float32)))
        count += int(tf.size(labels))
    return total / max(1, count), right / max(1, count)

