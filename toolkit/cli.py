"""The recipes' shared command-line handling: see `workout_runtime.cli` (TensorFlow-free, so an exported
model can be run without it)."""

from workout_runtime.cli import INTERRUPTED, make_parser, quiet_tensorflow, run_recipe

__all__ = ["INTERRUPTED", "make_parser", "quiet_tensorflow", "run_recipe"]
