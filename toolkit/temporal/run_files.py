"""The run folder: what a trained run is, as files, for training to write and inference to read.

    runs/<name>/
        run.json              what the run is (below)
        config.json           every config value it was trained with
        class_names.json      the class order of every model
        split.csv             which video (group) sat on which side
        vote.keras, lstm.keras, transformer.keras
                              one Keras model per aggregator: uint8 frames
                              (1, T, H, W, 3) -> class probabilities, encoder inside
        training logs, curves and test reports

`run.json` holds the model name, class names, frames per clip, the frame
geometry (a square side for pixel encoders, a longest side for pose
encoders), per aggregator its file, vote method and rejection threshold, and
whether training finished.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any

import keras

from toolkit.errors import RunError
from toolkit.models.registry import MODEL_NAMES, UnknownModelError, encoder_info

RUN_FILE = "run.json"
RUN_FORMAT = 2
TRAINING, COMPLETE = "training", "complete"


def video_model_file(aggregator: str) -> str:
    return f"{aggregator}.keras"


@dataclasses.dataclass
class RunInfo:
    """`run.json`: what a run is.

    Attributes:
        model_name: the encoder's name.
        class_names: class order of every model's output.
        num_frames: frames per clip.
        frame_size: square side frames are resized to, or None (pose
            encoders take frames of any size)...
        max_side: ...then frames are shrunk to at most this long side.
        aggregators: per aggregator {"file", "threshold", "min_evidence"
            and, for vote, "method"}.
        default_aggregator: what `classify_video` uses without `--temporal`.
        status: "training" until every model is saved, then "complete".
        toolkit_version: the version that trained it.
        frames_dir: the frame folder it was trained on.
        dataset: how to read that data again: {"unit": "videos" or "images",
            "root", and for image folders the group options}.
        repetitions: for pose encoders, the signal each class's repetitions
            are counted on and its usual range (`workout_runtime.repetitions`).
        updated: when it was last written.
    """

    model_name: str
    class_names: list[str]
    num_frames: int
    frame_size: int | None
    max_side: int | None
    aggregators: dict[str, dict[str, Any]]
    default_aggregator: str
    status: str = TRAINING
    toolkit_version: str = ""
    frames_dir: str = ""
    dataset: dict[str, Any] = dataclasses.field(default_factory=dict)
    repetitions: dict[str, Any] = dataclasses.field(default_factory=dict)
    updated: str = ""
    format: int = RUN_FORMAT

    def write(self, run_dir: str | os.PathLike) -> Path:
        path = Path(run_dir) / RUN_FILE
        self.updated = time.strftime("%Y-%m-%d %H:%M:%S")
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(dataclasses.asdict(self), indent=2))
        os.replace(tmp, path)  # atomic: an interruption never leaves half a run.json
        return path


def read_run_info(run_dir: str | os.PathLike) -> RunInfo:
    """Reads a run's `run.json`.

    Raises:
        RunError: not a run folder, a run of an older toolkit, or a damaged file.
    """
    run_dir = Path(run_dir)
    path = run_dir / RUN_FILE
    if not run_dir.is_dir():
        raise RunError(f"Run folder not found: '{run_dir}'. Point --run at a folder written by "
                       f"recipes/train_video_classifier.py or train_image_classifier.py.")
    if not path.is_file():
        if (run_dir / "model.keras").is_file() or (run_dir / "pose_frame_model.keras").is_file():
            raise RunError(f"'{run_dir}' was trained by an older version of the toolkit (no {RUN_FILE}); train "
                           f"it again with recipes/train_video_classifier.py.")
        raise RunError(f"'{run_dir}' is not a training run (no {RUN_FILE}). Point --run at a folder written by "
                       f"recipes/train_video_classifier.py or train_image_classifier.py.")
    try:
        data = json.loads(path.read_text())
        fields = {f.name for f in dataclasses.fields(RunInfo)}
        info = RunInfo(**{k: v for k, v in data.items() if k in fields})
    except (json.JSONDecodeError, TypeError, UnicodeDecodeError) as error:
        raise RunError(f"The run file '{path}' is damaged ({error}); train the run again.") from None
    try:
        encoder_info(info.model_name)
    except UnknownModelError:
        raise RunError(f"The run file '{path}' names model_name={info.model_name!r}, which this toolkit does not know "
                       f"(expected one of {list(MODEL_NAMES)}, or a pose and a pixel encoder joined by '+'); it was "
                       f"written by another version or edited. Train the run again.") from None
    return info


def load_video_model(run_dir: str | os.PathLike, aggregator: str, info: RunInfo | None = None) -> keras.Model:
    """The run's Keras model for one aggregator.

    Raises:
        RunError: the run lacks it, or its file is damaged or incomplete.
    """
    run_dir = Path(run_dir)
    info = info or read_run_info(run_dir)
    if aggregator not in info.aggregators:
        raise RunError(f"Run '{run_dir}' has no {aggregator!r} model; it has {sorted(info.aggregators)}. Pick one "
                       f"with --temporal, or train a run that has it (recipes/train_video_classifier.py --aggregators "
                       f"{aggregator} ... --name NEW_NAME).")
    name = info.aggregators[aggregator].get("file")
    if not name:
        raise RunError(f"Run '{run_dir}' recorded its {aggregator!r} scores but saved no model (a cross-validation "
                       f"fold); train a run with recipes/train_video_classifier.py to classify videos.")
    path = run_dir / name
    # run.json is data someone may have sent: it names a file inside its own folder, nothing else.
    if Path(name).is_absolute() or Path(name).name != name or not name.endswith(".keras") \
            or path.resolve().parent != run_dir.resolve():
        raise RunError(f"Run '{run_dir}' names its {aggregator!r} model {name!r}; a run's model is a .keras file in "
                       f"the run folder itself, so this run.json is refused (train the run again).")
    if not path.is_file():
        raise RunError(f"The run file '{path}' is missing; train the run again (or copy the whole run folder).")
    try:
        return keras.models.load_model(path, safe_mode=True)
    except Exception as error:  # a truncated zip, a half-written file: Keras raises many types
        raise RunError(f"The run file '{path}' is damaged or incomplete ({type(error).__name__}: "
                       f"{str(error)[:200]}); train the run again.") from None
