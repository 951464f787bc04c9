"""Small helpers the recipes share: quiet TensorFlow logs, argument parsers."""

from __future__ import annotations

import argparse
import os


def quiet_tensorflow() -> None:
    """Hide TensorFlow's C++ info logs; call before TensorFlow is imported."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def make_parser(doc: str | None) -> argparse.ArgumentParser:
    """An argument parser whose --help shows the recipe's docstring verbatim."""
    return argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
