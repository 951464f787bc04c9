"""The TensorFlow-free part of the workout toolkit: what classifying a video needs at run time.

Reading and sampling videos (`video`), turning class probabilities into
verdicts, "unknown" and timeline segments (`verdicts`), running an exported
LiteRT or ONNX model (`artifact`), and the recipes' error handling (`cli`).
It imports NumPy and OpenCV only, so a process that classifies with an
exported model starts in about a second; `toolkit` (Keras, TensorFlow) builds
on it, never the other way round.
"""

__version__ = "0.2.0"
