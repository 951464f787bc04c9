"""The repetition counter's known failure cases on real clips, reproduced as synthetic pose signals.

Each case comes from a workout4 clip the version 0.3 counter miscounted (issue 22): a rest that is not still
(a swinging hang), a pause in another posture (a pike between push-up bursts), a camera cut between
repetitions, and clips that start or end at a turning point. The features are built directly in the
per-frame layout (`workout_runtime.pose_layout`), at the counter's 4 frames a second.
"""

import numpy as np
import pytest

from workout_runtime import pose_layout as layout
from workout_runtime.repetitions import count_repetitions

FPS = 4.0


def repetitions(count: int, period_s: float = 2.0, rest_s: float = 1.0, start_at_rest: bool = True) -> np.ndarray:
    """0 at rest, 1 at each turning point: `count` smooth excursions with `rest_s` of rest around each."""
    rest = np.zeros(int(rest_s * FPS))
    cycle = 0.5 - 0.5 * np.cos(np.linspace(0, 2 * np.pi, int(period_s * FPS), endpoint=False))
    parts = [rest] + [np.concatenate([cycle, rest]) for _ in range(count)]
    return np.concatenate(parts) if start_at_rest else np.concatenate(parts[1:])


def body(length: int) -> np.ndarray:
    """`(length, 64)` features of a body seen in every frame, every angle straight, standing in the middle."""
    features = np.zeros((length, layout.FRAME_FEATURES))
    features[:, :layout.COORDINATES] = 0.1  # joints seen (any non-zero value)
    for name in layout.ANGLE_NAMES[:-1]:
        features[:, layout.angle(name)] = 0.95
    features[:, layout.angle("torso_tilt")] = 0.05
    features[:, layout.CENTRE_X], features[:, layout.CENTRE_Y], features[:, layout.SCALE] = 0.5, 0.5, 0.2
    features[:, layout.MIRRORED] = 1.0
    return features


def push_ups(depth: np.ndarray) -> np.ndarray:
    """A push-up seen from the side: elbows bend (0.95 -> 0.45) and the body lowers as `depth` goes 0 -> 1."""
    features = body(len(depth))
    for side in ("left", "right"):
        features[:, layout.angle(f"{side}_elbow")] = 0.95 - 0.5 * depth
    features[:, layout.angle("torso_tilt")] = 0.5  # lying
    features[:, layout.CENTRE_Y] = 0.6 + 0.05 * depth
    return features


def pull_ups(height: np.ndarray) -> np.ndarray:
    """A pull-up: elbows bend (0.95 -> 0.3) and the body rises as `height` goes 0 (hang) -> 1 (chin over bar)."""
    features = body(len(height))
    for side in ("left", "right"):
        features[:, layout.angle(f"{side}_elbow")] = 0.95 - 0.65 * height
        features[:, layout.angle(f"{side}_shoulder")] = 0.95 - 0.4 * height
    features[:, layout.CENTRE_Y] = 0.6 - 0.2 * height
    return features


def squats(depth: np.ndarray) -> np.ndarray:
    features = body(len(depth))
    for side in ("left", "right"):
        features[:, layout.angle(f"{side}_knee")] = 0.95 - 0.5 * depth
        features[:, layout.angle(f"{side}_hip")] = 0.95 - 0.45 * depth
    features[:, layout.CENTRE_Y] = 0.5 + 0.15 * depth
    return features


@pytest.mark.parametrize("count", [1, 3, 8])
def test_clean_sets_of_each_exercise_are_counted(count):
    for make in (push_ups, pull_ups, squats):
        result = count_repetitions(make(repetitions(count)), FPS)
        assert result.count == count, (make.__name__, result.count, result.reason)


def test_a_rest_that_is_not_still_is_not_counted_twice():
    # pull-up_7: the legs swing at each hang, a dip in the signal a third as deep as a repetition.
    height = repetitions(3, period_s=2.5, rest_s=1.5)
    still = height == 0
    height[still] = 0.3 * np.abs(np.sin(np.arange(still.sum()) * np.pi / 3))
    result = count_repetitions(pull_ups(height), FPS)
    assert result.count == 3, [r.turn_s for r in result.repetitions]


def test_a_pause_in_another_posture_does_not_merge_the_bursts_around_it():
    # push-ups/videoplayback: bursts of push-ups with a pike (hips high, arms straight) between them.
    burst = repetitions(4, period_s=1.2, rest_s=0.5)
    features = [push_ups(burst)]
    for bursts in (3, 2):
        pike = push_ups(np.zeros(int(4 * FPS)))
        rise = np.sin(np.linspace(0, np.pi, len(pike)))
        for side in ("left", "right"):
            pike[:, layout.angle(f"{side}_hip")] = 0.95 - 0.5 * rise
        pike[:, layout.angle("torso_tilt")] = 0.5 - 0.3 * rise
        pike[:, layout.CENTRE_Y] = 0.6 - 0.25 * rise
        features += [pike, push_ups(repetitions(bursts, period_s=1.2, rest_s=0.5))]
    result = count_repetitions(np.concatenate(features), FPS)
    assert result.count == 4 + 3 + 2, [r.turn_s for r in result.repetitions]


def test_a_camera_cut_between_repetitions_adds_or_removes_none():
    # squat_11, squat_12: a new camera angle between repetitions moves and resizes the body in the frame and
    # changes every measured angle a little (a 2D projection of the same joints).
    depth = repetitions(4, period_s=2.0, rest_s=1.0)
    features = squats(depth)
    cut = len(depth) // 2 + 2
    features[cut:, layout.CENTRE_X] += 0.25
    features[cut:, layout.CENTRE_Y] -= 0.2
    features[cut:, layout.SCALE] *= 1.6
    features[cut:, layout.ANGLES_START:layout.ANGLES_START + 8] -= 0.06
    result = count_repetitions(features, FPS)
    assert result.count == 4, [r.turn_s for r in result.repetitions]


def test_a_clip_ending_at_a_turning_point_counts_it_and_one_starting_there_does_not():
    depth = repetitions(3, period_s=2.0, rest_s=1.0)
    rest, cycle = int(1.0 * FPS), int(2.0 * FPS)
    turning_points = [rest + k * (cycle + rest) + cycle // 2 for k in range(3)]
    assert all(depth[t] == depth.max() for t in turning_points)
    bottom = turning_points[2]
    ends_there = squats(depth[:bottom + 1])
    assert count_repetitions(ends_there, FPS).count == 3
    holds_there = squats(np.concatenate([depth[:bottom + 1], np.ones(int(1.5 * FPS))]))
    assert count_repetitions(holds_there, FPS).count == 3
    starts_there = squats(depth[turning_points[0]:])
    assert count_repetitions(starts_there, FPS).count == 2
    on_the_way_up = squats(depth[:bottom - 2])  # ends before reaching the third turning point
    assert count_repetitions(on_the_way_up, FPS).count == 2


def test_turning_points_are_where_the_joints_bend_most():
    # pull-up_10 starts at the hang and ends at the top: its first and last frames are at opposite ends of the
    # movement, so they cannot say which end is rest. The turning point is found by bending.
    height = np.concatenate([repetitions(3, period_s=2.0, rest_s=1.0), np.linspace(0, 1, 5), np.ones(4)])
    result = count_repetitions(pull_ups(height), FPS)
    rest, cycle = int(1.0 * FPS), int(2.0 * FPS)
    tops = [(rest + k * (cycle + rest) + cycle // 2) / FPS for k in range(3)] + [(len(height) - 5) / FPS]
    assert result.count == 4, [r.turn_s for r in result.repetitions]
    for found, top in zip(result.repetitions, tops):
        assert abs(found.turn_s - top) <= 0.5
        assert found.start_s <= found.turn_s <= found.end_s
