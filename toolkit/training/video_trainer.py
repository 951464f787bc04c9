"""Training the LSTM sequence head: from cached features, or end to end on clips."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

import keras
import numpy as np

from toolkit.data.augment import AugmentConfig
from toolkit.data.pipeline import balanced_class_weights, make_clip_dataset
from toolkit.temporal.lstm import build_lstm_video_classifier, build_sequence_head, compile_sequence_model
from toolkit.training.fine_tuning import set_top_layers_trainable


def train_sequence_head(train: Mapping[str, np.ndarray], validation: Mapping[str, np.ndarray] | None,
                        num_classes: int, units: int = 64, epochs: int = 40, learning_rate: float = 2e-3,
                        batch_size: int = 16, patience: int = 8, seed: int = 0,
                        log_dir: str | os.PathLike | None = None, verbose: int | str = 0) -> keras.Model:
    """Fits the LSTM head on cached `(V, T, F)` features (see `FeatureCache`).

    Early stopping watches validation loss when validation videos exist and
    restores the best weights.
    """
    keras.utils.set_random_seed(seed)
    features = train["features"]
    head = build_sequence_head(features.shape[1], features.shape[2], num_classes, units)
    compile_sequence_model(head, learning_rate)
    monitor = "val_loss" if validation is not None and len(validation["labels"]) else "loss"
    callbacks = [keras.callbacks.EarlyStopping(monitor=monitor, patience=patience, restore_best_weights=True)]
    if log_dir is not None:
        Path(log_dir).mkdir(parents=True, exist_ok=True)
        callbacks.append(keras.callbacks.CSVLogger(str(Path(log_dir) / "training_log.csv")))
    head.fit(features, train["labels"], batch_size=batch_size, epochs=epochs,
             validation_data=(validation["features"], validation["labels"]) if monitor == "val_loss" else None,
             class_weight=balanced_class_weights(np.bincount(train["labels"], minlength=num_classes)), callbacks=callbacks, verbose=verbose)
    return head


def train_lstm_end_to_end(feature_extractor: keras.Model, train_rows: Sequence[Mapping],
                          validation_rows: Sequence[Mapping], class_names: Sequence[str], num_frames: int,
                          image_size: int, units: int = 64, epochs: int = 10, learning_rate: float = 1e-3,
                          trainable_layers: int = 0, batch_size: int = 4, augment: bool = True,
                          patience: int = 4, seed: int = 0, verbose: int | str = "auto") -> keras.Model:
    """Trains feature extractor + LSTM head on clip batches through `FramewiseApply`.

    `trainable_layers=0` keeps the whole backbone frozen (its BatchNormalization
    then runs in inference mode inside the time-folded wrapper); a positive
    value unfreezes that many top layers, BatchNormalization excepted.
    """
    keras.utils.set_random_seed(seed)
    if trainable_layers > 0:
        set_top_layers_trainable(feature_extractor, trainable_layers)
    else:
        feature_extractor.trainable = False
    feature_dim = feature_extractor.output_shape[-1]
    head = build_sequence_head(num_frames, feature_dim, len(class_names), units)
    model = build_lstm_video_classifier(feature_extractor, head, num_frames, image_size)
    compile_sequence_model(model, learning_rate)
    train = make_clip_dataset(train_rows, class_names, num_frames, image_size, batch_size, training=True,
                              augment=AugmentConfig() if augment else None, seed=seed)
    validation = make_clip_dataset(validation_rows, class_names, num_frames, image_size, batch_size) \
        if validation_rows else None
    monitor = "val_loss" if validation is not None else "loss"
    model.fit(train, validation_data=validation, epochs=epochs, shuffle=False, verbose=verbose,
              callbacks=[keras.callbacks.EarlyStopping(monitor=monitor, patience=patience,
                                                       restore_best_weights=True)])
    return model
