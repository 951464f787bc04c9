"""Training heads on cached features: the frame head on single frames, the sequence heads on clips.

Every head trains with `model.fit` on arrays of cached encoder features, with
balanced class weights, early stopping on the validation videos (restoring
the best weights) when there are any, and a CSV log. On cached features an
epoch takes well under a second, whatever the encoder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

import keras
import numpy as np

from toolkit.data.pipeline import balanced_class_weights
from toolkit.models.frame_head import build_frame_head
from toolkit.temporal.heads import build_sequence_head



def fit_head(model: keras.Model, x: np.ndarray, y: np.ndarray, validation: tuple[np.ndarray, np.ndarray] | None,
             num_classes: int, epochs: int, batch_size: int, learning_rate: float, patience: int, seed: int,
             log_path: str | os.PathLike | None = None, verbose: int | str = 0) -> keras.Model:
    """Fits a softmax `model` on arrays; returns it with its best validation weights."""
    keras.utils.set_random_seed(seed)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    has_validation = validation is not None and len(validation[1]) > 0
    monitor = "val_loss" if has_validation else "loss"
    callbacks = [keras.callbacks.EarlyStopping(monitor=monitor, patience=patience, restore_best_weights=True)]
    if log_path is not None:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        callbacks.append(keras.callbacks.CSVLogger(str(log_path)))
    model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=verbose, callbacks=callbacks,
              validation_data=validation if has_validation else None,
              class_weight=balanced_class_weights(np.bincount(y, minlength=num_classes)))
    return model


def evidence_frames(arrays: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels of the frames that carry evidence (not all zero: a pose encoder saw a body)."""
    features = arrays["features"]
    seen = np.any(features != 0, axis=-1) if len(features) else np.zeros((0,), bool)
    return features[seen], arrays["labels"][seen]


def fit_frame_head(train: Mapping[str, np.ndarray], validation: Mapping[str, np.ndarray] | None, num_classes: int,
                   config, exclude: tuple[int, int] | None = None, log_path=None,
                   verbose: int | str = 0) -> keras.Model:
    """The frame head (`build_frame_head`) trained on the frames of `train` that carry evidence.

    Raises:
        ValueError: no training frame carries evidence (a pose encoder found no body anywhere).
    """
    x, y = evidence_frames(train)
    if not len(x):
        raise ValueError(f"The encoder ({config.model_name}) found nothing in any training frame (for a pose "
                         f"encoder: no body); check that the frames show a person.")
    head = build_frame_head(x.shape[-1], num_classes, config.frame_head_units, config.dropout, exclude)
    val = evidence_frames(validation) if validation is not None else None
    return fit_head(head, x, y, val, num_classes, config.head_epochs, config.batch_size,
                    config.learning_rate, config.early_stopping_patience, config.seed, log_path, verbose)


def fit_sequence_head(aggregator: str, train: Mapping[str, np.ndarray], validation: Mapping[str, np.ndarray] | None,
                      num_classes: int, config, pose_features: bool, log_path=None,
                      verbose: int | str = 0) -> keras.Model:
    """The LSTM or transformer head trained on clip features `(V, T, F)`."""
    features = train["features"]
    units = config.lstm_units if aggregator == "lstm" else config.transformer_units
    head = build_sequence_head(aggregator, features.shape[1], features.shape[2], num_classes, units, config.dropout,
                               pose_features, config.transformer_layers)
    val = (validation["features"], validation["labels"]) if validation is not None else None
    return fit_head(head, features, train["labels"], val, num_classes, config.head_epochs,
                    config.sequence_batch_size, config.sequence_learning_rate, config.early_stopping_patience,
                    config.seed, log_path, verbose)


def predict_arrays(model: keras.Model, inputs: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """A head's outputs on feature arrays, by direct calls.

    `predict` would retrace (and warn) for every new head, as cross-validation
    makes several per fold; the heads are tiny.
    """
    if not len(inputs):
        return np.zeros((0, model.output_shape[-1]), dtype=np.float32)
    return np.concatenate([keras.ops.convert_to_numpy(model(inputs[i:i + batch_size], training=False))
                           for i in range(0, len(inputs), batch_size)])
