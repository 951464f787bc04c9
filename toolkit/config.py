"""The typed configuration every recipe passes into the library.

The user's switchboard is the plain module `config.py` at the project root.
The library never imports it: a recipe loads it with `load_config_module`,
applies command-line overrides (`add_config_flags` gives every field a flag),
and validates the result before any work starts::

    parser = argparse.ArgumentParser()
    add_config_flags(parser)
    config = config_from_args(parser.parse_args())

Invalid values raise `ConfigError` naming the field, the value received and
what is allowed.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import os
import re
import types
from pathlib import Path
from typing import Any, Iterable

from toolkit.errors import UserError
from toolkit.models.movenet_files import default_pose_model_dir
from toolkit.models.registry import MODEL_NAMES, PIXEL_ENCODERS, POSE_ENCODERS, UnknownModelError, encoder_info
from toolkit.temporal.heads import AGGREGATORS
from toolkit.temporal.layers import VotePooling
from workout_runtime.verdicts import OPERATING_POINTS, REJECTION_SCORES

TEMPORAL_AGGREGATORS = AGGREGATORS
VOTE_METHODS = VotePooling.METHODS
DISTRIBUTE_CHOICES = ("none", "mirrored", "mirrored:<device>,<device>", "multiworker")
# Renamed fields: an old config.py gets a pointer instead of "unknown field".
RENAMED = {"lstm_epochs": "head_epochs"}
# Fields that no longer exist, with what to do instead.
REMOVED = {"reject_unknown": "it was never read; the classify recipes answer \"unknown\" by the run's rule unless "
                             "given --no-reject"}
# The project's own config.py, when the toolkit runs from its source tree (an editable install).
SOURCE_TREE_CONFIG = Path(__file__).resolve().parents[1] / "config.py"
DEFAULT_CONFIG_PATH = SOURCE_TREE_CONFIG


def default_config_path() -> Path | None:
    """The `config.py` a recipe reads without `--config`: the working directory's, else the source tree's.

    An installed (not editable) toolkit lives in site-packages, where no project config is: there the working
    directory's `config.py` is the user's; None when there is neither (the defaults of `Config` apply).
    """
    here = Path.cwd() / "config.py"
    if here.is_file():
        return here
    if SOURCE_TREE_CONFIG.is_file() and (SOURCE_TREE_CONFIG.parent / "setup.cfg").is_file():
        return SOURCE_TREE_CONFIG
    return None


class ConfigError(UserError, ValueError):
    """A configuration value is invalid; the message names field and value."""


@dataclasses.dataclass(frozen=True)
class Config:
    """Every switch of the toolkit. See `config.py` for what each one does."""

    # === Model ===
    model_name: str = "efficientnet_lite0"
    weights: str | None = "imagenet"
    image_size: int = 224
    dropout: float = 0.2
    # The user's cache, filled from a package registry on first use (toolkit.models.movenet_files).
    pose_model_dir: str = dataclasses.field(default_factory=lambda: str(default_pose_model_dir()))
    person_gate: str | None = None
    # === Video ===
    frames_per_video: int = 16
    temporal: str = "vote"
    vote_method: str = "mean"
    frame_head_units: int = 64
    lstm_units: int = 64
    transformer_units: int = 64
    transformer_layers: int = 2
    # === Verdicts ===
    accept_rate: float = 0.97
    negatives: str | None = None
    rejection_score: str = "auto"
    operating_point: str = "accept_rate"
    calibration_folds: int = 3
    # === Training ===
    batch_size: int = 32
    sequence_batch_size: int = 16
    epochs: int = 10
    fine_tune_epochs: int = 0
    learning_rate: float = 1e-3
    fine_tune_learning_rate: float = 1e-5
    fine_tune_layers: int = 20
    head_epochs: int = 40
    sequence_learning_rate: float = 2e-3
    augment: bool = True
    early_stopping_patience: int = 5
    distribute: str = "none"
    # === Splits ===
    validation_fraction: float = 0.15
    test_fraction: float = 0.2
    folds: int = 5
    seed: int = 42
    near_duplicate_tolerance: float = 0.1
    # === Paths ===
    video_dir: str = "data/synthetic"
    frames_dir: str = "data/frames"
    runs_dir: str = "runs"

    def replace(self, **changes: Any) -> "Config":
        """A validated copy with `changes` applied."""
        return dataclasses.replace(self, **changes).validate()

    def validate(self, existing_paths: Iterable[str] = ()) -> "Config":
        """Checks every field; returns self so calls can be chained.

        Args:
            existing_paths: names of path fields that must already exist
                (for example `("video_dir",)` before extracting frames).

        Raises:
            ConfigError: naming the field, the value received and what is allowed.
        """
        check = _FieldCheck(self)
        self._validate_encoder(check)
        self._validate_heads(check)
        self._validate_training(check)
        self._validate_paths(check, existing_paths)
        return self

    def _validate_encoder(self, check: "_FieldCheck") -> None:
        try:
            info = encoder_info(self.model_name, 224)
        except UnknownModelError:
            check.fail("model_name", f"one of {list(MODEL_NAMES)}, or a pose and a pixel encoder joined by '+' "
                               f"(e.g. 'movenet_thunder+efficientnet_lite0')")
        if self.weights is not None and info.pixel is not None:  # pose encoders ignore weights
            if not isinstance(self.weights, str):
                check.fail("weights", "'imagenet', a path to a weights file, or None")
            if self.weights != "imagenet" and not Path(self.weights).is_file():
                check.fail("weights", "'imagenet', None, or the path of an existing weights file "
                                "(the file was not found)")
        if info.pose and info.pixel and (self.weights is None or not PIXEL_ENCODERS[info.pixel].pretrained):
            raise ConfigError(
                f"Invalid config fields 'model_name' and 'weights'. Received: model_name={self.model_name!r}, "
                f"weights={self.weights!r}; a combined encoder keeps its pixel part frozen, so it needs a "
                f"pretrained one: efficientnet_lite0 or efficientnet_b0 with weights='imagenet' or a weights file.")
        if self.person_gate is not None:
            if self.person_gate not in POSE_ENCODERS:
                check.fail("person_gate", f"None or one of {list(POSE_ENCODERS)}")
            if info.pose is not None or info.pixel is None or self.weights is None \
                    or not PIXEL_ENCODERS[info.pixel].pretrained or self.fine_tune_epochs:
                raise ConfigError(
                    f"Invalid config fields 'person_gate' and 'model_name'. Received: person_gate={self.person_gate!r},"
                    f" model_name={self.model_name!r}, weights={self.weights!r}, fine_tune_epochs="
                    f"{self.fine_tune_epochs!r}; a person gate goes on a pretrained, frozen pixel encoder "
                    f"(efficientnet_lite0 or efficientnet_b0 with weights, fine_tune_epochs = 0). Pose runs gate on "
                    f"their own keypoints: set person_gate = None.")

    def _validate_heads(self, check: "_FieldCheck") -> None:
        check.integer("image_size", 32)
        check.fraction("dropout", 0.0, 1.0)
        check.integer("frames_per_video", 1)
        check.choice("temporal", TEMPORAL_AGGREGATORS)
        check.choice("vote_method", VOTE_METHODS)
        check.integer("frame_head_units", 0)
        check.integer("lstm_units", 1)
        check.integer("transformer_units", 4)
        if isinstance(self.transformer_units, int) and self.transformer_units % 4:
            check.fail("transformer_units", "a multiple of 4 (the transformer has 4 attention heads)")
        check.integer("transformer_layers", 1)
        check.fraction("accept_rate", 0.5, 1.0)
        if self.negatives is not None and (not isinstance(self.negatives, (str, os.PathLike)) or not str(self.negatives)):
            check.fail("negatives", "None, or the folder of non-exercise videos with a manifest.csv naming each one's group")
        check.choice("rejection_score", ("auto", *REJECTION_SCORES))
        check.choice("operating_point", OPERATING_POINTS)
        if self.rejection_score == "exercise_probability" and self.negatives is None:
            raise ConfigError("Invalid config fields 'rejection_score' and 'negatives'. Received: "
                              "rejection_score='exercise_probability', negatives=None; 1 - P(other) needs a run that "
                              "learnt an 'other' class: give negatives (a folder of non-exercise videos, --negatives "
                              "DIR), or use rejection_score='auto' or 'max_probability'.")

    def _validate_training(self, check: "_FieldCheck") -> None:
        if self.calibration_folds != 0:
            check.integer("calibration_folds", 2)
        check.integer("batch_size", 1)
        check.integer("sequence_batch_size", 1)
        check.integer("epochs", 0)
        check.integer("fine_tune_epochs", 0)
        check.positive("learning_rate")
        check.positive("fine_tune_learning_rate")
        check.integer("fine_tune_layers", 0)
        check.integer("head_epochs", 0)
        check.positive("sequence_learning_rate")
        if not isinstance(self.augment, bool):
            check.fail("augment", "True or False")
        check.integer("early_stopping_patience", 0)
        check.fraction("validation_fraction", 0.0, 1.0)
        check.fraction("test_fraction", 0.0, 1.0)
        if self.validation_fraction + self.test_fraction >= 1.0:
            raise ConfigError(
                "Invalid config fields 'validation_fraction' and 'test_fraction'. Received: "
                f"validation_fraction={self.validation_fraction!r}, test_fraction={self.test_fraction!r}; "
                "expected their sum to be below 1 so that some data is left to train on.")
        if not isinstance(self.distribute, str) or \
                not re.fullmatch(r"none|multiworker|mirrored(:[^,]+(,[^,]+)*)?", self.distribute):
            check.fail("distribute", f"one of {list(DISTRIBUTE_CHOICES)}")
        check.integer("folds", 2)
        if isinstance(self.near_duplicate_tolerance, bool) or not isinstance(self.near_duplicate_tolerance,
                                                                             (int, float)) \
                or not 0 <= self.near_duplicate_tolerance <= 1:
            check.fail("near_duplicate_tolerance", "a share in [0, 1] (1 accepts any near-identical frames across the split)")

    def _validate_paths(self, check: "_FieldCheck", existing_paths: Iterable[str]) -> None:
        check.integer("seed", 0)
        for name in ("pose_model_dir", "video_dir", "frames_dir", "runs_dir"):
            if not isinstance(getattr(self, name), (str, os.PathLike)) or not str(getattr(self, name)):
                check.fail(name, "a folder path")
        for name in existing_paths:
            if not Path(getattr(self, name)).is_dir():
                check.fail(name, "an existing folder (it was not found; create it, or point the field "
                           "or its command-line flag at your data)")


class _FieldCheck:
    """Checks of one config's fields, each failing with a `ConfigError` that names the field and its value."""

    def __init__(self, config: Config):
        self.config = config

    def fail(self, name: str, expected: str) -> None:
        raise ConfigError(f"Invalid config field '{name}'. Received: {name}={getattr(self.config, name)!r}; "
                          f"expected {expected}.")

    def choice(self, name: str, options: Iterable[str]) -> None:
        if getattr(self.config, name) not in options:
            self.fail(name, f"one of {list(options)}")

    def integer(self, name: str, low: int) -> None:
        value = getattr(self.config, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            self.fail(name, f"an integer >= {low}")

    def fraction(self, name: str, low: float, high: float) -> None:
        value = getattr(self.config, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value < high:
            self.fail(name, f"a number in [{low}, {high})")

    def positive(self, name: str) -> None:
        value = getattr(self.config, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            self.fail(name, "a positive number")


FIELDS = {field.name: field for field in dataclasses.fields(Config)}


def load_config_module(path: str | os.PathLike = DEFAULT_CONFIG_PATH) -> Config:
    """Reads a user's `config.py` (a plain module of assignments) into a `Config`.

    Names in the module that are not config fields are ignored when they start
    with an underscore or are modules; any other unknown name is an error, as
    it is most likely a typo.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Config file not found. Received: config={str(path)!r}; expected the path "
                          f"of a config.py like the one at the project root.")
    spec = importlib.util.spec_from_file_location("_user_config", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as error:
        raise ConfigError(f"The config file {str(path)!r} is not valid Python: {error.msg} at line {error.lineno}"
                          f"{': ' + error.text.strip() if error.text else ''}. Fix that line.") from None
    except Exception as error:  # noqa: BLE001 - a NameError, an import of something missing, ...
        raise ConfigError(f"The config file {str(path)!r} failed when read ({type(error).__name__}: {error}); a "
                          f"config file holds plain assignments like model_name = \"movenet_thunder\".") from None
    values = {}
    for name, value in vars(module).items():
        if name.startswith("_") or isinstance(value, types.ModuleType) or callable(value):
            continue
        if name in RENAMED:
            raise ConfigError(f"Config field {name!r} in {path} was renamed to {RENAMED[name]!r} (it now sets "
                              f"every head trained on cached features); rename it there.")
        if name in REMOVED:
            raise ConfigError(f"Config field {name!r} in {path} was removed ({REMOVED[name]}); delete that line.")
        if name not in FIELDS:
            raise ConfigError(f"Unknown config field in {path}. Received: {name}={value!r}; "
                              f"expected one of {sorted(FIELDS)}.")
        values[name] = value
    return Config(**values)


def _parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, received {text!r}")


def _parse_optional_str(text: str) -> str | None:
    return None if text.lower() in ("none", "null", "") else text


_FLAG_TYPES = {"int": int, "float": float, "bool": _parse_bool, "str": str,
               "str | None": _parse_optional_str}


def add_config_flags(parser: argparse.ArgumentParser, only: Iterable[str] | None = None) -> None:
    """Adds `--config` and a `--field-name` override flag per config field."""
    group = parser.add_argument_group("config overrides (default: the value in config.py)")
    group.add_argument("--config", default=None,
                       help="the config module to read (default: config.py in the working directory, else the "
                            "project's; without either, the built-in defaults)")
    for name, field in FIELDS.items():
        if only is not None and name not in only:
            continue
        group.add_argument(f"--{name.replace('_', '-')}", dest=name, default=argparse.SUPPRESS,
                           type=_FLAG_TYPES[str(field.type)], metavar=name.upper(),
                           help=f"override config.{name}")


def config_from_args(args: argparse.Namespace, existing_paths: Iterable[str] = ()) -> Config:
    """The config module named by `args.config` with the flags given applied, validated."""
    path = args.config or default_config_path()
    config = load_config_module(path) if path is not None else Config()
    # Override flags default to argparse.SUPPRESS, so only flags actually
    # given are attributes (and "--weights none" can set None).
    overrides = {name: getattr(args, name) for name in FIELDS if hasattr(args, name)}
    return dataclasses.replace(config, **overrides).validate(existing_paths)


def config_to_dict(config: Config) -> dict[str, Any]:
    """Plain dict for saving beside a run."""
    return dataclasses.asdict(config)
