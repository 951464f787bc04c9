"""workout-toolkit: recognise workout exercises in images and videos with Keras.

Importing `toolkit` registers its Keras layers (MoveNet, pose features, the
temporal heads' layers), so a run's saved model loads with plain Keras:

    import keras, toolkit
    model = keras.models.load_model("runs/pose/vote.keras")   # safe_mode stays on
    probabilities = model(frames[None])                        # uint8 (1, T, H, W, 3)

Worker processes the toolkit starts to render or decode (which never load a
model) skip the registration, and with it TensorFlow's start-up cost: the
multiprocessing children it spawns, and processes started with
WORKOUT_TOOLKIT_WORKER=1 in their environment (Beam's DirectRunner workers). The
TensorFlow-free runtime for exported models is the `workout_runtime` package.
"""

import multiprocessing as _multiprocessing
import os as _os

from workout_runtime import __version__

WORKER_ENVIRONMENT = "WORKOUT_TOOLKIT_WORKER"

if _multiprocessing.parent_process() is None and _os.environ.get(WORKER_ENVIRONMENT) != "1":
    # TensorFlow's C++ info logs; recipes also filter what escapes this (workout_runtime.cli.quiet_tensorflow).
    _os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from toolkit.models import layers as _model_layers, pose as _pose, pose_features as _pose_features  # noqa: F401
    from toolkit.temporal import layers as _temporal_layers, pose_motion as _pose_motion  # noqa: F401

__all__ = ["__version__"]
