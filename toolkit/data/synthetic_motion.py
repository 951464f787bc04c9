"""How the synthetic figure moves: its body, the poses of every exercise and non-exercise, and their timing.

Body space has y pointing up and the floor at y = 0; a pose maps an extent e in
[0, 1] (rest to turning point) to joint positions, and a `RepetitionSchedule`
says how far the movement is at any time. Rendering is
`toolkit.data.synthetic_render`; videos and datasets `toolkit.data.synthetic`.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from typing import TYPE_CHECKING, Callable

import numpy as np

if TYPE_CHECKING:  # the dataset settings set_schedule reads
    from toolkit.data.synthetic import SyntheticConfig


@dataclasses.dataclass(frozen=True)
class Body:
    """Segment lengths and thicknesses in body units (torso length = 1)."""

    torso: float = 1.0
    neck: float = 0.14
    head_radius: float = 0.21
    upper_arm: float = 0.56
    forearm: float = 0.5
    thigh: float = 0.78
    shin: float = 0.74
    ankle_height: float = 0.07
    foot: float = 0.24
    shoulder_width: float = 0.5
    hip_width: float = 0.3
    limb_thickness: float = 0.21

    @property
    def leg(self) -> float:
        return self.thigh + self.shin

    @property
    def arm(self) -> float:
        return self.upper_arm + self.forearm


# ---------------------------------------------------------------------------
# Kinematics. Body space has y pointing up and the floor at y = 0; an angle is
# measured from "straight up", clockwise towards +x (the way the figure faces).
# ---------------------------------------------------------------------------

Point = np.ndarray


def _direction(angle: float) -> Point:
    return np.array([math.sin(angle), math.cos(angle)])


def _lerp(a: float, b: float, t: float) -> float:
    return a + (b - a) * t


def _two_link(root: Point, end: Point, l1: float, l2: float, bend: float) -> Point:
    """Middle joint (knee, elbow) of a two-segment limb reaching `end`.

    `bend` is +1 or -1 and picks the side the joint bends to.
    """
    delta = end - root
    distance = float(np.linalg.norm(delta))
    distance = min(max(distance, abs(l1 - l2) + 1e-4), l1 + l2 - 1e-4)
    cos_a = (l1 * l1 + distance * distance - l2 * l2) / (2 * l1 * distance)
    alpha = math.acos(max(-1.0, min(1.0, cos_a)))
    base = math.atan2(delta[1], delta[0]) + bend * alpha
    return root + l1 * np.array([math.cos(base), math.sin(base)])


def _standing_front(body: Body, leg_spread: float, arm_abduction: float,
                    elbow_flex: float = 0.1) -> dict[str, Point]:
    hip_height = body.ankle_height + body.leg * math.cos(leg_spread)
    pelvis = np.array([0.0, hip_height])
    neck = pelvis + np.array([0.0, body.torso])
    joints = {"pelvis": pelvis, "neck": neck,
              "head": neck + np.array([0.0, body.neck + body.head_radius])}
    for side, sign in (("l", -1.0), ("r", 1.0)):
        hip = pelvis + np.array([sign * body.hip_width / 2, 0.0])
        ankle = hip + body.leg * _direction(math.pi - sign * leg_spread)
        joints[f"hip_{side}"] = hip
        joints[f"knee_{side}"] = (hip + ankle) / 2
        joints[f"ankle_{side}"] = ankle
        joints[f"toe_{side}"] = ankle + np.array([sign * body.foot * 0.5, -body.ankle_height])
        shoulder = neck + np.array([sign * body.shoulder_width / 2, -0.06])
        upper = math.pi - sign * arm_abduction
        elbow = shoulder + body.upper_arm * _direction(upper)
        wrist = elbow + body.forearm * _direction(upper + sign * elbow_flex)
        joints[f"shoulder_{side}"] = shoulder
        joints[f"elbow_{side}"] = elbow
        joints[f"wrist_{side}"] = wrist
    return joints


def _side_legs(joints: dict, body: Body, hip: Point, ankles: tuple[Point, Point]) -> None:
    for side, ankle in zip(("l", "r"), ankles):
        joints[f"hip_{side}"] = hip
        joints[f"knee_{side}"] = _two_link(hip, ankle, body.thigh, body.shin, bend=-1.0)
        joints[f"ankle_{side}"] = ankle
        joints[f"toe_{side}"] = ankle + np.array([body.foot, -body.ankle_height])


def _side_arms(joints: dict, body: Body, shoulder: Point, upper: float, fore: float) -> None:
    for side in ("l", "r"):
        elbow = shoulder + body.upper_arm * _direction(upper)
        joints[f"shoulder_{side}"] = shoulder
        joints[f"elbow_{side}"] = elbow
        joints[f"wrist_{side}"] = elbow + body.forearm * _direction(fore)


def pose_jumping_jack(body: Body, e: float) -> dict[str, Point]:
    return _standing_front(body, _lerp(0.05, 0.38, e), _lerp(0.12, math.pi - 0.3, e), 0.15)


def pose_lateral_raise(body: Body, e: float) -> dict[str, Point]:
    return _standing_front(body, 0.07, _lerp(0.12, math.pi / 2 - 0.02, e), 0.05)


def pose_squat(body: Body, e: float) -> dict[str, Point]:
    ankle = np.array([0.0, body.ankle_height])
    stand = body.ankle_height + body.leg - 0.02
    hip = np.array([_lerp(-0.03, -0.62, e), _lerp(stand, body.ankle_height + 0.55 * body.leg, e)])
    lean = _lerp(0.05, 0.7, e)
    neck = hip + body.torso * _direction(lean)
    joints = {"pelvis": hip, "neck": neck,
              "head": neck + (body.neck + body.head_radius) * _direction(lean * 0.6)}
    _side_legs(joints, body, hip, (ankle + [0.03, 0.0], ankle))
    arm = _lerp(math.pi - 0.08, math.pi / 2 + 0.05, e)
    _side_arms(joints, body, neck - 0.06 * _direction(lean), arm, arm - 0.05)
    return joints


def pose_lunge(body: Body, e: float) -> dict[str, Point]:
    stride = 0.42 * body.leg
    front = np.array([stride, body.ankle_height])
    back = np.array([-stride, body.ankle_height + 0.12])
    top = body.ankle_height + math.sqrt(body.leg ** 2 - stride ** 2) - 0.03
    hip = np.array([0.0, _lerp(top, top - 0.42 * body.leg, e)])
    neck = hip + body.torso * _direction(0.04)
    joints = {"pelvis": hip, "neck": neck,
              "head": neck + (body.neck + body.head_radius) * _direction(0.04)}
    _side_legs(joints, body, hip, (back, front))
    joints["toe_l"] = back + np.array([body.foot * 0.8, -body.ankle_height - 0.1])
    _side_arms(joints, body, neck + np.array([0.0, -0.06]), math.pi - 0.12, math.pi - 0.05)
    return joints


def pose_push_up(body: Body, e: float) -> dict[str, Point]:
    length = body.leg + body.torso
    up = math.asin(min(0.95, (body.arm * 0.97 - 0.05) / length))
    down = math.asin(min(0.95, (body.arm * 0.38) / length))
    tilt = _lerp(up, down, e)
    along = np.array([math.cos(tilt), math.sin(tilt)])
    ankle = np.array([0.0, body.ankle_height + 0.03])
    hip = ankle + body.leg * along
    neck = hip + body.torso * along
    shoulder = neck - 0.08 * along
    hand_x = ankle[0] + (length - 0.08) * math.cos(up)
    hand = np.array([hand_x, 0.04])
    joints = {"pelvis": hip, "neck": neck,
              "head": neck + (body.neck + body.head_radius) * np.array([math.cos(tilt - 0.25), math.sin(tilt + 0.25)])}
    for side in ("l", "r"):
        joints[f"hip_{side}"] = hip
        joints[f"knee_{side}"] = (hip + ankle) / 2
        joints[f"ankle_{side}"] = ankle
        joints[f"toe_{side}"] = ankle + np.array([0.05, -body.ankle_height - 0.03])
        joints[f"shoulder_{side}"] = shoulder
        joints[f"elbow_{side}"] = _two_link(shoulder, hand, body.upper_arm, body.forearm, bend=1.0)
        joints[f"wrist_{side}"] = hand
    return joints


def pose_curl(body: Body, e: float) -> dict[str, Point]:
    ankle = np.array([0.0, body.ankle_height])
    hip = np.array([-0.02, body.ankle_height + body.leg - 0.01])
    neck = hip + body.torso * _direction(0.02)
    joints = {"pelvis": hip, "neck": neck,
              "head": neck + (body.neck + body.head_radius) * _direction(0.02)}
    _side_legs(joints, body, hip, (ankle + [0.05, 0.0], ankle))
    _side_arms(joints, body, neck + np.array([0.0, -0.06]), math.pi - 0.06,
               _lerp(math.pi - 0.12, 0.45, e))
    return joints


@dataclasses.dataclass(frozen=True)
class Exercise:
    """How one class moves: a pose per extent `e` in [0, 1] and its rhythm.

    `lift_fraction` is the share of a repetition spent going from e = 0 to
    e = 1; None draws a roughly symmetric rhythm per video.
    """

    pose: Callable[[Body, float], dict[str, Point]]
    view: str  # "front" or "side"
    lift_fraction: float | None = None
    holds_weight: bool = False
    # Non-exercise motions (walking, waving) move periodically but do no repetitions.
    counts_repetitions: bool = True


EXERCISES: dict[str, Exercise] = {
    "squat": Exercise(pose_squat, "side"),
    "push_up": Exercise(pose_push_up, "side"),
    "jumping_jack": Exercise(pose_jumping_jack, "front"),
    "lunge": Exercise(pose_lunge, "side"),
    "lateral_raise": Exercise(pose_lateral_raise, "front", holds_weight=True),
    # The temporal pair: same poses, reversed rhythm.
    "curl_fast_lift": Exercise(pose_curl, "side", lift_fraction=0.25, holds_weight=True),
    "curl_slow_lift": Exercise(pose_curl, "side", lift_fraction=0.75, holds_weight=True),
}
TEMPORAL_PAIR = ("curl_fast_lift", "curl_slow_lift")


def pose_standing_still(body: Body, e: float) -> dict[str, Point]:
    """A person waiting: arms hanging, a slight sway."""
    return _standing_front(body, 0.06, 0.12 + 0.04 * e, 0.1)


def pose_waving(body: Body, e: float) -> dict[str, Point]:
    """One arm raised, its forearm swinging side to side; the other hanging."""
    joints = _standing_front(body, 0.07, 0.12, 0.1)
    shoulder = joints["shoulder_r"]
    elbow = shoulder + body.upper_arm * _direction(math.pi / 2 - 0.5)
    joints["elbow_r"] = elbow
    joints["wrist_r"] = elbow + body.forearm * _direction(_lerp(-0.6, 0.6, e))
    return joints


def pose_walking(body: Body, e: float) -> dict[str, Point]:
    """A stride seen from the side (walking on the spot): legs scissor, arms swing against them."""
    hip = np.array([0.0, body.ankle_height + body.leg * 0.96])
    neck = hip + body.torso * _direction(0.05)
    joints = {"pelvis": hip, "neck": neck, "head": neck + (body.neck + body.head_radius) * _direction(0.05)}
    stride = 0.35 * body.leg * (2 * e - 1)
    ankles = (np.array([-stride, body.ankle_height + 0.04 * (1 - e)]),
              np.array([stride, body.ankle_height + 0.04 * e]))
    _side_legs(joints, body, hip, ankles)
    swing = 0.45 * (2 * e - 1)
    for side, sign in (("l", 1.0), ("r", -1.0)):
        shoulder = neck + np.array([0.0, -0.06])
        elbow = shoulder + body.upper_arm * _direction(math.pi + sign * swing)
        joints[f"shoulder_{side}"] = shoulder
        joints[f"elbow_{side}"] = elbow
        joints[f"wrist_{side}"] = elbow + body.forearm * _direction(math.pi + sign * swing - 0.3)
    return joints


def pose_empty_scene(body: Body, e: float) -> dict[str, Point]:
    """Nobody in view."""
    return {}


# Motions that are not exercises: negatives for "unknown", and for repetition
# counting (a walker's strides are not repetitions). Never in DEFAULT_CLASSES.
NON_EXERCISES: dict[str, Exercise] = {
    "standing_still": Exercise(pose_standing_still, "front", counts_repetitions=False),
    "waving": Exercise(pose_waving, "front", counts_repetitions=False),
    "walking": Exercise(pose_walking, "side", counts_repetitions=False),
    "empty_scene": Exercise(pose_empty_scene, "front", counts_repetitions=False),
}
MOTIONS: dict[str, Exercise] = {**EXERCISES, **NON_EXERCISES}


@dataclasses.dataclass(frozen=True)
class RepetitionSchedule:
    """When each cycle of a motion happens, and how far the movement is at any time.

    Attributes:
        cycles: (start_s, seconds) of every cycle, in time order. A cycle goes
            from rest (extent 0) to its turning point (extent 1, after `lift`
            of its time) and back to rest; gaps between cycles are pauses at rest.
        lift: share of a cycle spent going from rest to the turning point.
        duration_s: the video's length.
    """

    cycles: tuple[tuple[float, float], ...]
    lift: float
    duration_s: float

    def extent(self, t: float) -> float:
        index = bisect.bisect_right([start for start, _ in self.cycles], t) - 1
        if index < 0:
            return 0.0
        start, seconds = self.cycles[index]
        return rhythm((t - start) / seconds, self.lift) if t < start + seconds else 0.0

    def repetitions(self) -> list[tuple[float, float, float]]:
        """(start, turning point, end) in seconds of every cycle wholly inside the video."""
        return [(start, start + self.lift * seconds, start + seconds) for start, seconds in self.cycles
                if start >= -1e-9 and start + seconds <= self.duration_s + 1e-9]


def continuous_schedule(rep_seconds: float, phase0: float, duration_s: float, lift: float) -> RepetitionSchedule:
    """Repetitions back to back from a random phase: a clip cut out of a longer set."""
    count = int(math.ceil(duration_s / rep_seconds + phase0)) + 1
    return RepetitionSchedule(tuple(((k - phase0) * rep_seconds, rep_seconds) for k in range(count)), lift,
                              duration_s)


def set_schedule(rng: np.random.Generator, reps: int, rep_seconds: float, config: "SyntheticConfig",
                 lift: float) -> RepetitionSchedule:
    """`reps` repetitions from rest to rest, each tempo jittered, with pauses between some of them."""
    t = float(rng.uniform(0.3, 0.8))  # standing ready before the first one
    cycles = []
    for r in range(reps):
        seconds = rep_seconds * (1 + float(rng.uniform(-config.tempo_jitter, config.tempo_jitter)))
        if t + seconds > config.max_duration_s - 0.3:
            break
        cycles.append((t, seconds))
        t += seconds
        if r < reps - 1 and rng.random() < config.pause_probability:
            t += float(rng.uniform(*config.pause_seconds_range))
    return RepetitionSchedule(tuple(cycles), lift, min(config.max_duration_s, t + float(rng.uniform(0.3, 0.8))))


def rhythm(phase: float, lift_fraction: float) -> float:
    """Extent e in [0, 1] at `phase` in [0, 1) of a repetition (eased)."""
    if phase < lift_fraction:
        x = phase / lift_fraction
    else:
        x = 1.0 - (phase - lift_fraction) / (1.0 - lift_fraction)
    return 0.5 - 0.5 * math.cos(math.pi * x)


# COCO keypoints (MoveNet's order) from the figure's joints: the face from the head, the rest joint to joint.
_COCO_FROM_JOINTS = ("head", "head", "head", "head", "head", "shoulder_l", "shoulder_r", "elbow_l", "elbow_r",
                     "wrist_l", "wrist_r", "hip_l", "hip_r", "knee_l", "knee_r", "ankle_l", "ankle_r")


def coco_keypoints(joints: dict[str, Point], to_pixels: Callable[[Point], np.ndarray], width: int,
                   height: int) -> np.ndarray:
    """`(17, 3)` (y, x, score) in [0, 1] frame coordinates; all zero for an empty scene."""
    keypoints = np.zeros((17, 3), dtype=np.float32)
    if not joints:
        return keypoints
    for k, name in enumerate(_COCO_FROM_JOINTS):
        x, y = to_pixels(joints[name])
        keypoints[k] = (y / height, x / width, 1.0)
    return keypoints


def square_keypoints(keypoints: np.ndarray, width: int, height: int) -> np.ndarray:
    """`coco_keypoints` of a `width` x `height` frame moved into the square that letterboxes it (as MoveNet
    sees a frame), so that angles between joints are true angles."""
    side = max(width, height)
    square = np.array(keypoints, dtype=np.float32, copy=True)
    square[..., 0] = (square[..., 0] * height + (side - height) / 2) / side
    square[..., 1] = (square[..., 1] * width + (side - width) / 2) / side
    return square
