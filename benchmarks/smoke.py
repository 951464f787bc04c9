"""Tiny inputs for every benchmark script's `--smoke` mode: seconds of work that runs the script's real code.

CI runs `python benchmarks/<script>.py --smoke` for every script (tests/test_benchmark_scripts.py), so an API
change that breaks a benchmark breaks CI, not the next person who wants its figures. A smoke run writes
nowhere but a temporary folder and proves nothing about speed or accuracy.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def work_dir(name: str) -> Path:
    """A fresh temporary folder for one smoke run."""
    return Path(tempfile.mkdtemp(prefix=f"smoke_{name}_"))


def tiny_videos(out: Path, classes=("squat", "push_up"), videos_per_class: int = 3, seconds: float = 2.0,
                negatives: bool = False) -> Path:
    """A few small synthetic workout videos with a manifest (the quick start's generator)."""
    from toolkit.data.synthetic import SyntheticConfig, generate_dataset

    config = SyntheticConfig(classes=tuple(classes), videos_per_class=videos_per_class, num_performers=3,
                             reps_range=(1, 2), rep_seconds_range=(0.8, 1.0), max_duration_s=seconds,
                             fps_choices=(10,), resolutions=((128, 96),), seed=0)
    generate_dataset(out, config, num_workers=1, progress=False)
    return out


def tiny_frames(out: Path, videos: Path, frames: int = 4) -> Path:
    """Frames extracted from `videos` the way recipes/extract_frames.py does."""
    from toolkit.data.frames import extract_frames

    extract_frames(videos, out, num_frames=frames, progress=False)
    return out


def tiny_run(out: Path, frames_dir: Path, model_name: str = "custom_cnn", aggregators=("vote",), **overrides) -> Path:
    """A run trained for a moment on `frames_dir` (grouped split), as train_video_classifier.py writes it."""
    from toolkit.config import Config
    from toolkit.data.manifest import read_manifest
    from toolkit.data.splits import split_manifest
    from toolkit.training.trainer import train_run

    settings = dict(model_name=model_name, frames_per_video=4, image_size=64, head_epochs=1, epochs=1,
                    batch_size=8, early_stopping_patience=1, lstm_units=8, transformer_units=8,
                    frame_head_units=8, validation_fraction=0.25, test_fraction=0.25, calibration_folds=0, seed=0,
                    frames_dir=str(frames_dir))
    settings.update(overrides)
    config = Config(**settings).validate()
    rows = read_manifest(frames_dir)
    train_run(config, rows, split_manifest(rows, 0.25, 0.25, seed=0), out, aggregators=aggregators,
              progress=False, log=lambda _: None)
    return out


def tiny_trained_run(name: str, model_name: str = "custom_cnn") -> Path:
    """A fresh folder with a run trained for a moment on tiny synthetic videos (its videos beside it)."""
    work = work_dir(name)
    videos = tiny_videos(work / "videos")
    return tiny_run(work / "run", tiny_frames(work / "frames", videos), model_name)
