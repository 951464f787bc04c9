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

import csv
import dataclasses
import json
import math
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from toolkit.data.synthetic_motion import (EXERCISES, MOTIONS, Point, coco_keypoints, continuous_schedule,
                                           set_schedule)
from toolkit.data.synthetic_render import make_background, make_performer, render_frame

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


def _timing(rng: np.random.Generator, spec: VideoSpec, config: SyntheticConfig, exercise):
    """(seconds per repetition, frames a second, the repetitions' schedule) of one video."""
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
    return rep_seconds, fps, schedule


def _camera(rng: np.random.Generator, config: SyntheticConfig, body, horizontal: bool, width: int, height: int):
    """(mirrored, pixels per body unit, the floor's row, body space -> pixels) of one video's camera.

    `horizontal`: the figure lies along the floor (push-ups) and is framed by its length.
    """
    mirror = bool(rng.integers(2))
    zoom = float(rng.uniform(0.85, 1.15))
    angle = math.radians(float(rng.uniform(-6, 6)))
    offset = float(rng.uniform(-0.1, 0.1))
    if not config.vary_scene:
        mirror, zoom, angle, offset = False, 1.0, 0.0, 0.0
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

    return mirror, scale, ground_y, to_pixels


def render_video(spec: VideoSpec, config: SyntheticConfig, out_dir: str,
                 image_dir: str | None = None) -> dict:
    """Renders one video to `<out_dir>/<spec.relative_path>`; returns its manifest row."""
    cv2.setNumThreads(1)
    rng = np.random.default_rng(spec.seed)
    performer = make_performer(spec.performer_id, config.seed)
    exercise = MOTIONS[spec.label]

    rep_seconds, fps, schedule = _timing(rng, spec, config, exercise)
    num_frames = max(2, int(round(schedule.duration_s * fps)))
    width, height = config.resolutions[int(rng.integers(len(config.resolutions)))]
    mirror, scale, ground_y, to_pixels = _camera(rng, config, performer.body, spec.label == "push_up", width, height)
    gain = float(rng.uniform(0.7, 1.2)) if config.vary_scene else 1.0
    if not config.vary_scene:
        ground_y = int(height * 0.88)
    background = make_background(performer, (width, height), ground_y, rng, config.vary_scene)
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
