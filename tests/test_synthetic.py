import csv

import cv2
import numpy as np
import pytest

from conftest import TINY_CONFIG
from toolkit.data.synthetic import SyntheticConfig, generate_dataset, plan_dataset
from toolkit.data.synthetic_motion import EXERCISES, TEMPORAL_PAIR, Body, rhythm
from workout_runtime.sampling import read_frames


def _rows(folder):
    with open(folder / "manifest.csv") as f:
        return list(csv.DictReader(f))


def test_every_class_is_present_with_its_videos(synthetic_videos):
    rows = _rows(synthetic_videos)
    assert len(EXERCISES) >= 6
    assert sorted({r["label"] for r in rows}) == sorted(TINY_CONFIG.classes)
    assert len(rows) == len(TINY_CONFIG.classes) * TINY_CONFIG.videos_per_class
    for row in rows:
        path = synthetic_videos / row["path"]
        assert path.parent.name == row["label"]
        assert 1.0 <= float(row["duration_s"]) <= TINY_CONFIG.max_duration_s + 0.5


def test_videos_are_readable_by_opencv_and_match_manifest(synthetic_videos):
    for row in _rows(synthetic_videos):
        capture = cv2.VideoCapture(str(synthetic_videos / row["path"]))
        assert capture.isOpened()
        count = 0
        while capture.grab():
            count += 1
        capture.release()
        assert count == int(row["frames"])
        assert count >= 2


def test_performers_recur_across_classes(synthetic_videos):
    rows = _rows(synthetic_videos)
    classes_per_group = {}
    for row in rows:
        classes_per_group.setdefault(row["group"], set()).add(row["label"])
    assert len(classes_per_group) <= TINY_CONFIG.num_performers
    assert all(len(labels) >= 2 for labels in classes_per_group.values())


def test_generator_is_deterministic_for_a_seed(tmp_path):
    config = SyntheticConfig(classes=("squat", "push_up"), videos_per_class=1, max_duration_s=2.0,
                             resolutions=((96, 96),), seed=5)
    first = generate_dataset(tmp_path / "a", config, num_workers=1, progress=False)
    second = generate_dataset(tmp_path / "b", config, num_workers=2, progress=False)
    assert first.read_text() == second.read_text()
    for row in _rows(tmp_path / "a"):
        a = read_frames(tmp_path / "a" / row["path"], 4).frames
        b = read_frames(tmp_path / "b" / row["path"], 4).frames
        np.testing.assert_array_equal(a, b)
    other = plan_dataset(SyntheticConfig(classes=("squat", "push_up"), videos_per_class=1, seed=6))
    assert [s.seed for s in other] != [s.seed for s in plan_dataset(config)]


def test_temporal_pair_has_identical_pose_distribution_but_reversed_order():
    fast, slow = (EXERCISES[name] for name in TEMPORAL_PAIR)
    assert fast.pose is slow.pose
    phases = np.linspace(0, 1, 4000, endpoint=False)
    fast_e = np.array([rhythm(p, fast.lift_fraction) for p in phases])
    slow_e = np.array([rhythm(p, slow.lift_fraction) for p in phases])
    # Same marginal distribution of extents (hence of single frames) ...
    hist_fast, _ = np.histogram(fast_e, bins=20, range=(0, 1))
    hist_slow, _ = np.histogram(slow_e, bins=20, range=(0, 1))
    np.testing.assert_allclose(hist_fast, hist_slow, atol=3)
    # ... but one is the time reversal of the other.
    np.testing.assert_allclose(fast_e, slow_e[::-1][np.r_[-1, 0:len(phases) - 1]], atol=1e-2)


@pytest.mark.parametrize("name", list(EXERCISES))
def test_every_pose_has_all_joints_above_the_floor(name):
    for e in (0.0, 0.5, 1.0):
        joints = EXERCISES[name].pose(Body(), e)
        for side in "lr":
            for joint in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle", "toe"):
                assert f"{joint}_{side}" in joints
        assert all(point[1] > -0.2 for point in joints.values())


def test_invalid_synthetic_config_names_the_value():
    with pytest.raises(ValueError, match="classes=\\['yoga'\\]"):
        SyntheticConfig(classes=("yoga",))
    with pytest.raises(ValueError, match="videos_per_class=0"):
        SyntheticConfig(videos_per_class=0)


def test_image_dataset_form(tmp_path):
    config = SyntheticConfig(classes=("squat", "lunge"), videos_per_class=1, max_duration_s=2.0,
                             image_frames_per_video=3, resolutions=((96, 96),))
    generate_dataset(tmp_path / "videos", config, num_workers=1, progress=False, image_dir=tmp_path / "images")
    for label in ("squat", "lunge"):
        images = sorted((tmp_path / "images" / label).glob("*.jpg"))
        assert len(images) == 3
        assert cv2.imread(str(images[0])).shape == (96, 96, 3)


def test_repetitions_are_recorded_with_their_times(tmp_path):
    import json

    config = SyntheticConfig(classes=("squat", "walking", "empty_scene"), videos_per_class=3, num_performers=2,
                             reps_range=(2, 6), rep_seconds_range=(1.0, 1.5), max_duration_s=30,
                             fps_choices=(10,), resolutions=((96, 96),), start_at_rest=True, pause_probability=0.5,
                             tempo_jitter=0.2, seed=5)
    generate_dataset(tmp_path, config, num_workers=1, progress=False)
    with open(tmp_path / "manifest.csv") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        repetitions = json.loads(row["repetitions"])
        assert int(row["reps"]) == len(repetitions)
        if row["label"] != "squat":
            assert repetitions == []  # strides and an empty room are not repetitions
            continue
        assert 2 <= len(repetitions) <= 6
        for start, turn, end in repetitions:
            assert 0 <= start < turn < end <= float(row["duration_s"]) + 1e-6
            assert 0.75 <= end - start <= 1.8  # tempo 1.0-1.5 s, jittered by up to 20 %
        starts = [r[0] for r in repetitions]
        assert starts == sorted(starts)
    # An empty scene shows nobody: its frames barely change (only noise and flicker).
    frames = read_frames(next(tmp_path.glob("empty_scene/*.mp4")), 5).frames.astype(float)
    assert np.abs(frames - frames.mean(axis=0)).mean() < 8


def test_clips_cut_at_a_random_phase_count_only_whole_repetitions():
    from toolkit.data.synthetic_motion import continuous_schedule

    schedule = continuous_schedule(rep_seconds=2.0, phase0=0.5, duration_s=7.0, lift=0.25)
    # Cycles start at -1, 1, 3, 5, 7 s: whole ones are 1-3 and 3-5 (5-7 ends exactly at the video's end).
    assert [r[0] for r in schedule.repetitions()] == [1.0, 3.0, 5.0]
    assert schedule.extent(1.0) == 0.0 and schedule.extent(1.5) == pytest.approx(1.0)
