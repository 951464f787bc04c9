"""Drawing the synthetic figure: performers (body, clothes, room) and shaded frames of a pose."""

from __future__ import annotations

import dataclasses
from typing import Callable, Sequence

import cv2
import numpy as np

from toolkit.data.synthetic_motion import Body, Exercise, Point


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


def _scaled(colour: Sequence[int], gain: float) -> tuple[int, int, int]:
    return tuple(int(min(255, max(0, c * gain))) for c in colour)


def make_background(performer: Performer, size: tuple[int, int], ground_y: int,
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
