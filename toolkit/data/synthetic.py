"""Synthetic workout videos: the project's embedded, offline dataset.

An articulated figure (head, torso, upper and lower arms and legs drawn as
shaded capsules) performs an exercise in repetitions. Every video belongs to a
*performer* with their own body proportions, clothes and usual background, and
performers recur across videos and classes, so frames of one performer leak
across a naive split exactly as they do in real workout datasets.

Two classes, `curl_fast_lift` and `curl_slow_lift`, share the same poses and
differ only in rhythm: one lifts in a quarter of the repetition and lowers in
three quarters, the other is its time reversal. A single frame (and the
distribution of frames over a video) is identical for both, so frame voting
cannot separate them; a sequence model can when enough frames fall in each
repetition (tests/test_temporal.py), not with 16 frames over a long video.

Typical use::

    from toolkit.data.synthetic import SyntheticConfig, generate_dataset
    manifest = generate_dataset("data/synthetic", SyntheticConfig(seed=0))
"""

from __future__ import annotations

import bisect
import csv
import dataclasses
import json
import math
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Callable, Sequence

import cv2
import numpy as np

# ---------------------------------------------------------------------------
# Body model
# ---------------------------------------------------------------------------


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


@dataclasses.dataclass(frozen=True)
class Performer:
    """A recurring person: body, clothes and the room they usually film in."""

    performer_id: int
    body: Body
    skin: tuple[int, int, int]
    shirt: tuple[int, int, int]
    pants: tuple[int, int, int]
    shoes: tuple[int, int, int]
    background_kind: str
    background_colors: tuple[tuple[int, int, int], tuple[int, int, int]]
    floor_color: tuple[int, int, int]

    @property
    def group(self) -> str:
        return f"performer_{self.performer_id:02d}"


def make_performer(performer_id: int, seed: int) -> Performer:
    """Draws a performer deterministically from `(seed, performer_id)`."""
    rng = np.random.default_rng([seed, 1_000_003, performer_id])

    def jitter(value: float, spread: float = 0.1) -> float:
        return float(value * rng.uniform(1 - spread, 1 + spread))

    base = Body()
    body = Body(
        torso=1.0,
        neck=jitter(base.neck),
        head_radius=jitter(base.head_radius),
        upper_arm=jitter(base.upper_arm),
        forearm=jitter(base.forearm),
        thigh=jitter(base.thigh),
        shin=jitter(base.shin),
        ankle_height=base.ankle_height,
        foot=jitter(base.foot),
        shoulder_width=jitter(base.shoulder_width, 0.15),
        hip_width=jitter(base.hip_width, 0.15),
        limb_thickness=jitter(base.limb_thickness, 0.25),
    )
    skin_tones = [(60, 90, 140), (90, 130, 190), (120, 165, 215), (160, 195, 235)]

    def colour() -> tuple[int, int, int]:
        return tuple(int(c) for c in rng.integers(20, 236, size=3))

    kind = str(rng.choice(["solid", "gradient", "texture"]))
    return Performer(
        performer_id=performer_id,
        body=body,
        skin=skin_tones[int(rng.integers(len(skin_tones)))],
        shirt=colour(),
        pants=colour(),
        shoes=colour(),
        background_kind=kind,
        background_colors=(colour(), colour()),
        floor_color=colour(),
    )


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


# ---------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------


def _scaled(colour: Sequence[int], gain: float) -> tuple[int, int, int]:
    return tuple(int(min(255, max(0, c * gain))) for c in colour)


def _make_background(performer: Performer, size: tuple[int, int], ground_y: int,
                     rng: np.random.Generator, vary: bool = True) -> np.ndarray:
    width, height = size
    a, b = (np.array(c, dtype=np.float32) for c in performer.background_colors)
    # A per-video shift of the performer's usual colours: same room, other day.
    shift = rng.uniform(-25, 25, size=3).astype(np.float32) * float(vary)
    a, b = np.clip(a + shift, 0, 255), np.clip(b + shift, 0, 255)
    if performer.background_kind == "solid":
        image = np.broadcast_to(a, (height, width, 3)).copy()
    elif performer.background_kind == "gradient":
        t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
        image = np.broadcast_to(a * (1 - t) + b * t, (height, width, 3)).copy()
    else:
        noise = rng.random((max(2, height // 16), max(2, width // 16)), dtype=np.float32)
        noise = cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)[..., None]
        # A muted texture (carpet, wallpaper): half-way between the two colours.
        image = a * (1 - 0.5 * noise) + b * 0.5 * noise
    floor = np.array(performer.floor_color, dtype=np.float32)
    image[ground_y:] = 0.6 * image[ground_y:] + 0.4 * floor
    return np.clip(image, 0, 255).astype(np.uint8)


def _draw_limb(frame: np.ndarray, p: np.ndarray, q: np.ndarray, thickness: float,
               colour: tuple[int, int, int], light: np.ndarray) -> None:
    """A capsule shaded like a cylinder: dark rim, body, highlight to the light."""
    t = max(2, int(round(thickness)))
    rim = _scaled(colour, 0.55)
    hi = _scaled(colour, 1.35)
    for width, col, shift in ((t, rim, 0.0), (int(t * 0.72), colour, 0.12), (max(1, int(t * 0.28)), hi, 0.25)):
        offset = light * shift * t
        a = tuple(int(round(v)) for v in (p + offset) * 16)
        b = tuple(int(round(v)) for v in (q + offset) * 16)
        cv2.line(frame, a, b, col, max(1, width), cv2.LINE_AA, shift=4)
        cv2.circle(frame, a, max(1, width // 2) * 16, col, -1, cv2.LINE_AA, shift=4)
        cv2.circle(frame, b, max(1, width // 2) * 16, col, -1, cv2.LINE_AA, shift=4)


def _draw_disc(frame: np.ndarray, centre: np.ndarray, radius: float,
               colour: tuple[int, int, int], light: np.ndarray) -> None:
    c = tuple(int(round(v * 16)) for v in centre)
    cv2.circle(frame, c, int(radius * 16), _scaled(colour, 0.55), -1, cv2.LINE_AA, shift=4)
    cv2.circle(frame, c, int(radius * 0.85 * 16), colour, -1, cv2.LINE_AA, shift=4)
    h = tuple(int(round(v * 16)) for v in centre + light * radius * 0.35)
    cv2.circle(frame, h, int(radius * 0.35 * 16), _scaled(colour, 1.3), -1, cv2.LINE_AA, shift=4)


_SEGMENTS = (
    # (joint a, joint b, clothing, thickness factor)
    ("hip", "knee", "pants", 1.25),
    ("knee", "ankle", "pants", 1.0),
    ("ankle", "toe", "shoes", 0.7),
    ("shoulder", "elbow", "shirt", 0.9),
    ("elbow", "wrist", "skin", 0.75),
)


def render_frame(background: np.ndarray, joints: dict[str, Point], performer: Performer,
                 exercise: Exercise, to_pixels: Callable[[Point], np.ndarray],
                 scale: float, gain: float, light: np.ndarray) -> np.ndarray:
    """Draws one frame of the figure over a copy of `background` (BGR)."""
    frame = background.copy()
    if not joints:  # an empty scene
        return np.clip(frame.astype(np.float32) * gain, 0, 255).astype(np.uint8)
    body = performer.body
    colours = {name: _scaled(getattr(performer, name), gain) for name in ("skin", "shirt", "pants", "shoes")}
    px = {name: to_pixels(p) for name, p in joints.items()}
    thick = body.limb_thickness * scale

    def limbs(side: str, dim: float) -> None:
        for a, b, cloth, factor in _SEGMENTS[:3]:
            _draw_limb(frame, px[f"{a}_{side}"], px[f"{b}_{side}"], thick * factor,
                       _scaled(colours[cloth], dim), light)

    def arms(side: str, dim: float) -> None:
        for a, b, cloth, factor in _SEGMENTS[3:]:
            _draw_limb(frame, px[f"{a}_{side}"], px[f"{b}_{side}"], thick * factor,
                       _scaled(colours[cloth], dim), light)
        if exercise.holds_weight:
            _draw_disc(frame, px[f"wrist_{side}"], thick * 0.6, _scaled((40, 40, 40), dim), light)

    torso_width = thick * (2.2 if exercise.view == "side" else 0.0)
    if exercise.view == "side":
        # The far limbs sit behind the torso and are darker.
        limbs("l", 0.7)
        arms("l", 0.7)
        _draw_limb(frame, px["pelvis"], px["neck"], torso_width, colours["shirt"], light)
        limbs("r", 1.0)
        _draw_disc(frame, px["head"], body.head_radius * scale, colours["skin"], light)
        arms("r", 1.0)
    else:
        limbs("l", 1.0)
        limbs("r", 1.0)
        quad = np.array([px["shoulder_l"], px["shoulder_r"], px["hip_r"], px["hip_l"]])
        cv2.fillConvexPoly(frame, np.round(quad * 16).astype(np.int32), colours["shirt"], cv2.LINE_AA, shift=4)
        _draw_limb(frame, px["pelvis"], px["neck"], thick * 1.6, colours["shirt"], light)
        _draw_disc(frame, px["head"], body.head_radius * scale, colours["skin"], light)
        arms("l", 1.0)
        arms("r", 1.0)
    return frame


# ---------------------------------------------------------------------------
# Videos and datasets
# ---------------------------------------------------------------------------

DEFAULT_CLASSES = tuple(EXERCISES)


@dataclasses.dataclass(frozen=True)
class SyntheticConfig:
    """What the generator draws from. Defaults give the full embedded dataset.

    Attributes:
        classes: exercise names, a subset of `EXERCISES`.
        videos_per_class: videos rendered per class.
        num_performers: size of the recurring cast; performers are spread over
            classes so that each appears in several.
        reps_range: inclusive range of repetitions per video.
        rep_seconds_range: seconds per repetition (the tempo).
        max_duration_s: durations are clipped to [1, max_duration_s].
        fps_choices: frame rates drawn per video.
        resolutions: (width, height) pairs drawn per video.
        vary_scene: draw camera (zoom, offset, rotation, mirroring), lighting
            and the background's colour shift per video; False films every
            video of a performer in one fixed scene (for controlled tests).
        start_at_rest: start each video at rest and end it after the last
            repetition (for counting); otherwise a video cuts into the motion
            at a random phase, as a clip cut from a longer recording does.
        pause_probability: chance of a pause at rest after each repetition
            (sets), of `pause_seconds_range` seconds.
        tempo_jitter: each repetition's duration varies by up to this share.
        record_keypoints: also write `<video stem>.keypoints.npy` beside each video:
            the figure's true joints in every frame, `(frames, 17, 3)` as
            (y, x, score) in the COCO layout MoveNet uses (for measuring a
            pose pipeline or a repetition counter without a pose model's errors).
        image_frames_per_video: JPEG frames per video written in the
            image-dataset form when `generate_dataset` gets an `image_dir`.
        seed: everything is a deterministic function of it.
    """

    classes: tuple[str, ...] = DEFAULT_CLASSES
    videos_per_class: int = 10
    num_performers: int = 6
    reps_range: tuple[int, int] = (1, 4)
    rep_seconds_range: tuple[float, float] = (1.5, 5.0)
    max_duration_s: float = 20.0
    fps_choices: tuple[int, ...] = (15, 20, 24, 25, 30)
    resolutions: tuple[tuple[int, int], ...] = ((320, 240), (400, 300), (480, 360), (360, 480), (426, 240))
    vary_scene: bool = True
    image_frames_per_video: int = 5
    start_at_rest: bool = False
    pause_probability: float = 0.0
    pause_seconds_range: tuple[float, float] = (1.0, 3.0)
    tempo_jitter: float = 0.0
    record_keypoints: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        unknown = [c for c in self.classes if c not in MOTIONS]
        if unknown or not self.classes:
            raise ValueError(f"Unknown or missing synthetic classes. Received: classes={list(self.classes)!r}; "
                             f"expected a non-empty subset of {list(MOTIONS)}")
        for name in ("videos_per_class", "num_performers"):
            if getattr(self, name) < 1:
                raise ValueError(f"Received: {name}={getattr(self, name)!r}; expected an integer >= 1")
        if not 1 <= self.reps_range[0] <= self.reps_range[1]:
            raise ValueError(f"Received: reps_range={self.reps_range!r}; expected 1 <= low <= high")
        if not 0 < self.rep_seconds_range[0] <= self.rep_seconds_range[1]:
            raise ValueError(f"Received: rep_seconds_range={self.rep_seconds_range!r}; expected 0 < low <= high")
        if self.max_duration_s < 1:
            raise ValueError(f"Received: max_duration_s={self.max_duration_s!r}; expected >= 1")
        if not 0 <= self.pause_probability <= 1 or not 0 <= self.tempo_jitter < 1:
            raise ValueError(f"Received: pause_probability={self.pause_probability!r}, tempo_jitter="
                             f"{self.tempo_jitter!r}; expected a probability and a share below 1")


@dataclasses.dataclass(frozen=True)
class VideoSpec:
    """Everything needed to render one video; drawn by `plan_dataset`."""

    label: str
    index: int
    performer_id: int
    seed: int
    relative_path: str


def plan_dataset(config: SyntheticConfig) -> list[VideoSpec]:
    """Assigns every video a performer and a seed, without rendering anything."""
    rng = np.random.default_rng([config.seed, 7])
    specs = []
    for class_index, label in enumerate(config.classes):
        # A shuffled round-robin over the cast: each performer appears in every
        # class when there are at least as many videos as performers.
        order = rng.permutation(config.num_performers)
        for k in range(config.videos_per_class):
            performer_id = int(order[k % config.num_performers])
            stem = f"{label}_p{performer_id:02d}_v{k:03d}"
            specs.append(VideoSpec(label, k, performer_id,
                                   int(rng.integers(2**31 - 1)), f"{label}/{stem}.mp4"))
    return specs


def render_video(spec: VideoSpec, config: SyntheticConfig, out_dir: str,
                 image_dir: str | None = None) -> dict:
    """Renders one video to `<out_dir>/<spec.relative_path>`; returns its manifest row."""
    cv2.setNumThreads(1)
    rng = np.random.default_rng(spec.seed)
    performer = make_performer(spec.performer_id, config.seed)
    exercise = MOTIONS[spec.label]

    # === Timing ===
    reps = int(rng.integers(config.reps_range[0], config.reps_range[1] + 1))
    rep_seconds = float(rng.uniform(*config.rep_seconds_range))
    duration = float(np.clip(reps * rep_seconds, 1.0, config.max_duration_s))
    fps = int(rng.choice(config.fps_choices))
    lift = exercise.lift_fraction if exercise.lift_fraction is not None else float(rng.uniform(0.4, 0.6))
    phase0 = float(rng.uniform(0, 1))
    if config.start_at_rest:
        schedule = set_schedule(np.random.default_rng([spec.seed, 1]), reps, rep_seconds, config, lift)
    else:
        schedule = continuous_schedule(rep_seconds, phase0, duration, lift)
    duration = schedule.duration_s
    num_frames = max(2, int(round(duration * fps)))

    # === Camera and scene ===
    width, height = config.resolutions[int(rng.integers(len(config.resolutions)))]
    mirror = bool(rng.integers(2))
    zoom = float(rng.uniform(0.85, 1.15))
    angle = math.radians(float(rng.uniform(-6, 6)))
    offset = float(rng.uniform(-0.1, 0.1))
    if not config.vary_scene:
        mirror, zoom, angle, offset = False, 1.0, 0.0, 0.0
    horizontal = exercise.view == "side" and spec.label == "push_up"
    body = performer.body
    extent = body.leg + body.torso + body.neck + 2 * body.head_radius + 0.4
    scale = zoom * (0.8 * width if horizontal else 0.85 * height) / extent
    scale = min(scale, 0.9 * height / 1.6) if horizontal else min(scale, 0.95 * width / 1.4)
    ground_y = int(height * rng.uniform(0.82, 0.93))
    centre_x = width / 2 + offset * width
    body_centre_x = 0.5 * (body.leg + body.torso + body.neck + 2 * body.head_radius) if horizontal else 0.0
    cos_a, sin_a = math.cos(angle), math.sin(angle)
    pivot = np.array([centre_x, ground_y], dtype=np.float64)

    def to_pixels(p: Point) -> np.ndarray:
        x = (p[0] - body_centre_x) * (-1.0 if mirror else 1.0) * scale
        y = -p[1] * scale
        return pivot + np.array([cos_a * x - sin_a * y, sin_a * x + cos_a * y])

    gain = float(rng.uniform(0.7, 1.2)) if config.vary_scene else 1.0
    if not config.vary_scene:
        ground_y = int(height * 0.88)
    background = _make_background(performer, (width, height), ground_y, rng, config.vary_scene)
    background = np.clip(background.astype(np.float32) * gain, 0, 255).astype(np.uint8)
    light = np.array([rng.uniform(-1, 1), -1.0])
    light /= np.linalg.norm(light)
    noise_sigma = float(rng.uniform(2, 9))
    # One noise field twice the frame; each frame takes a random crop of it,
    # which is far cheaper than drawing fresh noise per frame.
    noise = rng.normal(0, noise_sigma, size=(2 * height, 2 * width, 3)).astype(np.int16)

    path = Path(out_dir) / spec.relative_path
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV could not open a video writer for {path} (codec mp4v).")
    image_every = set()
    if image_dir is not None and config.image_frames_per_video > 0:
        image_every = set(np.linspace(0, num_frames - 1, config.image_frames_per_video).round().astype(int).tolist())
    image_folder = Path(image_dir or ".") / spec.label
    flicker = rng.uniform(0.97, 1.03, size=num_frames)
    keypoints = np.zeros((num_frames, 17, 3), dtype=np.float32) if config.record_keypoints else None
    try:
        for i in range(num_frames):
            t = i / fps
            joints = exercise.pose(performer.body, schedule.extent(t))
            if keypoints is not None:
                keypoints[i] = coco_keypoints(joints, to_pixels, width, height)
            frame = render_frame(background, joints, performer, exercise, to_pixels, scale, gain * flicker[i], light)
            oy, ox = int(rng.integers(height)), int(rng.integers(width))
            frame = np.clip(frame.astype(np.int16) + noise[oy:oy + height, ox:ox + width], 0, 255).astype(np.uint8)
            writer.write(frame)
            if i in image_every:
                image_folder.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(image_folder / f"{path.stem}_f{i:04d}.jpg"), frame, [cv2.IMWRITE_JPEG_QUALITY, 90])
    finally:
        writer.release()
    repetitions = schedule.repetitions() if exercise.counts_repetitions else []
    if keypoints is not None:
        np.save(path.with_suffix(".keypoints.npy"), keypoints)
    return {
        "path": spec.relative_path,
        "label": spec.label,
        "group": performer.group,
        "fps": fps,
        "frames": num_frames,
        "duration_s": round(num_frames / fps, 3),
        "width": width,
        "height": height,
        "reps": len(repetitions),
        "rep_seconds": round(rep_seconds, 3),
        "mirrored": int(mirror),
        "repetitions": json.dumps([[round(v, 3) for v in rep] for rep in repetitions]),
    }


# `reps` is the number of whole repetitions in the video (a clip cut at a random
# phase starts and ends inside one, which does not count); `repetitions` gives
# each one's (start, turning point, end) in seconds, as JSON.
MANIFEST_FIELDS = ("path", "label", "group", "fps", "frames", "duration_s", "width", "height",
                   "reps", "rep_seconds", "mirrored", "repetitions")


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


def _render_job(args: tuple) -> dict:
    return render_video(*args)


def generate_dataset(out_dir: str | os.PathLike, config: SyntheticConfig = SyntheticConfig(),
                     num_workers: int | None = None, progress: bool = True,
                     image_dir: str | os.PathLike | None = None) -> Path:
    """Renders the dataset to `<out_dir>/<class>/<video>.mp4` plus `manifest.csv`.

    Args:
        out_dir: destination folder, created if missing.
        config: what to draw; the output is a deterministic function of it.
        num_workers: render processes; defaults to the number of CPU cores.
        image_dir: if given, also write `config.image_frames_per_video` JPEG
            frames per video as `<image_dir>/<class>/<video>_fNNNN.jpg`, the
            layout of image datasets (file names carry the performer).
        progress: show a progress bar of videos done.

    Returns:
        The path of the written `manifest.csv`.
    """
    from tqdm.auto import tqdm

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    specs = plan_dataset(config)
    jobs = [(spec, config, str(out), None if image_dir is None else str(image_dir)) for spec in specs]
    workers = num_workers or os.cpu_count() or 1
    bar = tqdm(total=len(jobs), desc="rendering videos", unit="video", disable=not progress)
    rows = []
    if workers == 1:
        for job in jobs:
            rows.append(_render_job(job))
            bar.update()
    else:
        import multiprocessing

        # "spawn" keeps workers clear of whatever threads the parent holds
        # (TensorFlow's, in a test session); forking those can deadlock.
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            for row in pool.map(_render_job, jobs):
                rows.append(row)
                bar.update()
    bar.close()
    manifest = out / "manifest.csv"
    with open(manifest, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=MANIFEST_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return manifest
