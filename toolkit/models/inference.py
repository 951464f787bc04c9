"""Fast repeated inference: a model call traced once into a TensorFlow graph.

`model.predict` builds a data pipeline and a distribution strategy context per
call, and an eager `model(x)` dispatches every layer from Python; for the
small batches of video classification (one clip, or one image) both cost
more than the network itself. `GraphPredictor` traces the forward pass once
per input shape and reuses the graph, optionally compiled with XLA.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


class GraphPredictor:
    """Calls `model(x, training=False)` through a cached `tf.function`.

    Args:
        model: any Keras model.
        jit_compile: compile the graph with XLA (fuses element-wise ops into
            the convolutions; usually faster on CPU after a slower first call).
    """

    def __init__(self, model: keras.Model, jit_compile: bool = False):
        self.model = model
        # Inputs are converted to what the model declares (uint8 frames for
        # video models, float32 features for heads).
        self.dtype = tf.as_dtype(model.inputs[0].dtype)
        self._forward = tf.function(self._call, jit_compile=jit_compile, reduce_retracing=True)

    def _call(self, x):
        return self.model(x, training=False)

    def __call__(self, inputs) -> np.ndarray:
        return self._forward(tf.cast(tf.convert_to_tensor(inputs), self.dtype)).numpy()
