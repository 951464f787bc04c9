"""Frame encoding as an Apache Beam stage: a frozen encoder over every extracted frame, on one machine or many.

    report = encode_frames(rows, EncoderSpec("movenet_thunder"), "data/frames/feature_cache", runner="direct")

Extraction (`toolkit.data.beam_pipeline`) writes frames; this stage turns them into the features the heads
train on, which is what costs most per video (MoveNet Thunder: about 30 frames a second on 2 cores). Each video
is one element. A worker builds the encoder once (`DoFn.setup`) and checks that it is the encoder the driver
asked for (the fingerprint of its weights and settings); then, per video, it encodes the frames exactly as the
in-process cache does (`compute_frame_features`) and writes them as one shard into `FeatureCache.shard_dir`,
under a temporary name renamed into place, so a shard is whole or absent. Training and cross-validation read the
shards with the cache file (`FeatureCache.get`), unchanged.

Nothing is lost and a rerun resumes: videos whose shard holds all their frames are skipped, a shard written twice
(a retried bundle) is replaced by an identical one, and shards of another encoder or preprocessing sit in
another folder (the cache key) and are never read for this one. A worker that cannot build the encoder, or
builds another one, encodes nothing and the run stops with its reason; a video whose frames cannot be read is
reported and the others go on.

Runner options are extraction's: "direct" (DirectRunner, `workers` processes) or Beam's own flags, e.g.
"--runner=DataflowRunner --project=P --region=R --temp_location=gs://B/tmp"; a cluster's workers must see the
frame and cache folders and have the toolkit and the encoder's weights installed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from toolkit.data.beam_pipeline import beam_module
from toolkit.data.manifest import rows_by_video
from toolkit.errors import UserError

try:  # Beam is an extra (pip install ".[beam]"); without it `encode_frames` says so.
    from apache_beam import DoFn as _DoFn
except ImportError:  # pragma: no cover - exercised where Beam is absent
    _DoFn = object


class EncodingError(UserError, RuntimeError):
    """An encoding stage that could not run: the message names the cause and the fix."""


@dataclasses.dataclass(frozen=True)
class EncoderSpec:
    """What a worker needs to build the encoder: `toolkit.models.registry.build_encoder`'s arguments."""

    model_name: str
    image_size: int = 224
    weights: str | None = "imagenet"
    pose_model_dir: str | None = None
    person_gate: str | None = None

    @classmethod
    def from_config(cls, config) -> "EncoderSpec":
        return cls(config.model_name, config.image_size, config.weights,
                   None if config.pose_model_dir is None else str(config.pose_model_dir), config.person_gate)

    def build(self):
        from toolkit.models.registry import build_encoder

        return build_encoder(self.model_name, self.image_size, self.weights, self.pose_model_dir, self.person_gate)

    def cache(self, cache_dir: str | os.PathLike):
        from toolkit.models.registry import encoder_info
        from toolkit.training.features import FeatureCache

        info = encoder_info(self.model_name, self.image_size, self.person_gate)
        return FeatureCache(cache_dir, info.model_name, info.frame_size)


@dataclasses.dataclass
class EncodingReport:
    """What a run of the stage did: videos encoded now, skipped (already done), and failed with their reasons."""

    shard_dir: Path
    encoded: int
    skipped: int
    failed: list[tuple[str, str]]
    frames: int


def shard_name(video_id: str) -> str:
    """A video's shard file: a hash of its id (ids hold slashes and any characters)."""
    return hashlib.sha1(video_id.encode()).hexdigest()[:20] + ".npz"


def _frame_path(row: Mapping) -> str:
    return row.get("abs_path", row["path"])


def _shard_complete(path: Path, frame_paths: Sequence[str]) -> bool:
    try:
        with np.load(path, allow_pickle=False) as data:
            return set(frame_paths) <= set(data["paths"].tolist())
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):  # a truncated .npz is a bad zip
        return False


class _EncodeVideo:
    """Beam DoFn: one video's frame paths -> its shard on disk; yields a JSON line per failure only."""

    def __init__(self, spec: EncoderSpec, fingerprint: str, shard_dir: str, frame_size: int | None):
        self.spec, self.fingerprint, self.shard_dir, self.frame_size = spec, fingerprint, shard_dir, frame_size
        self.encoder, self.predict, self.setup_error = None, None, None

    def setup(self):
        from toolkit.training.features import encoder_fingerprint

        try:
            encoder = self.spec.build()
        except Exception as error:  # noqa: BLE001 - reported per element, the driver stops with it
            self.setup_error = f"a worker could not build the encoder ({type(error).__name__}: {error})"
            return
        found = encoder_fingerprint(encoder)
        if found != self.fingerprint:
            self.setup_error = (f"a worker built another encoder than the driver (fingerprint {found}, expected "
                                f"{self.fingerprint}): install the same toolkit and weights on every worker")
            return
        from toolkit.models.inference import GraphPredictor

        self.encoder, self.predict = encoder, GraphPredictor(encoder)  # traced once per worker, not per video

    def process(self, element):
        from toolkit.training.features import compute_frame_features

        video_id, frame_paths = element["video_id"], element["paths"]
        if self.setup_error:
            yield json.dumps({"video_id": video_id, "reason": self.setup_error, "setup": True})
            return
        target = Path(self.shard_dir) / shard_name(video_id)
        try:
            features = compute_frame_features(self.encoder, frame_paths, self.frame_size, predict=self.predict)
        except Exception as error:  # noqa: BLE001 - a damaged frame fails its video, not the run
            yield json.dumps({"video_id": video_id, "reason": f"{type(error).__name__}: {str(error)[:300]}"})
            return
        tmp = target.with_name(f".{os.getpid()}.{target.name}")
        np.savez(tmp, paths=np.asarray(frame_paths, dtype=str), features=features.astype(np.float32))
        os.replace(tmp, target)  # whole or absent; a retried bundle replaces it with the same features


class _EncodeVideoDoFn(_DoFn):
    """The Beam DoFn around `_EncodeVideo` (module level, so every runner can pickle it)."""

    def __init__(self, encode: _EncodeVideo):
        super().__init__()
        self.encode = encode

    def setup(self):
        self.encode.setup()

    def process(self, element):
        yield from self.encode.process(element)


def encode_frames(rows: Sequence[Mapping], spec: EncoderSpec, cache_dir: str | os.PathLike,
                  runner: str | Sequence[str] | None = "direct", workers: int = 2) -> EncodingReport:
    """Encodes every frame of `rows` (a frame manifest) into shards of the feature cache in `cache_dir`.

    Args:
        rows: frame-manifest rows (path or abs_path, video_id).
        spec: the encoder; it must be the one training will use (same name, size, weights, gate).
        cache_dir: the feature cache folder training reads (`<frames>/feature_cache`).
        runner: "direct" (DirectRunner with `workers` processes) or Beam pipeline options.
        workers: DirectRunner processes.

    Returns:
        An `EncodingReport`.

    Raises:
        EncodingError: no worker could build the encoder (or built another one); nothing was encoded.
        DatasetError: Apache Beam is not installed, or bad runner options.
    """
    from toolkit.data.beam_pipeline import pipeline_options
    from toolkit.training.features import encoder_fingerprint

    from toolkit.models.registry import encoder_info

    beam = beam_module()
    options = pipeline_options(runner, workers)
    info = encoder_info(spec.model_name, spec.image_size, spec.person_gate)
    if not info.pretrained or (info.pixel and spec.weights is None):
        raise EncodingError(f"Received: model_name={spec.model_name!r} with weights={spec.weights!r}; an encoding "
                            f"stage needs a pretrained, frozen encoder (MoveNet, or EfficientNet with ImageNet "
                            f"weights). An encoder that starts from random weights trains with the heads; there is "
                            f"nothing to encode ahead of training.")
    encoder = spec.build()
    cache = spec.cache(cache_dir)
    shard_dir = cache.shard_dir(encoder)
    shard_dir.mkdir(parents=True, exist_ok=True)
    elements, skipped, frames = [], 0, 0
    for video_id, video_rows in rows_by_video(rows).items():
        paths = [_frame_path(r) for r in video_rows]
        frames += len(paths)
        if _shard_complete(shard_dir / shard_name(video_id), paths):
            skipped += 1
        else:
            elements.append({"video_id": video_id, "paths": paths})
    report = EncodingReport(shard_dir, 0, skipped, [], frames)
    if not elements:
        return report
    encode = _EncodeVideo(spec, encoder_fingerprint(encoder), str(shard_dir), cache.frame_size)
    del encoder
    logging.getLogger("apache_beam").setLevel(logging.ERROR)
    failures_dir = Path(tempfile.mkdtemp(prefix=".beam-failed-", dir=str(shard_dir.parent)))
    try:
        with beam.Pipeline(options=options) as pipeline:
            _ = (pipeline
                 | "videos" >> beam.Create(elements, reshuffle=True)
                 | "encode" >> beam.ParDo(_EncodeVideoDoFn(encode))
                 | "failures" >> beam.io.WriteToText(str(failures_dir / "failed"), file_name_suffix=".jsonl"))
        failures = [json.loads(line) for path in sorted(failures_dir.glob("failed*"))
                    for line in path.read_text().splitlines() if line]
    finally:
        shutil.rmtree(failures_dir, ignore_errors=True)
    setup = [f for f in failures if f.get("setup")]
    if setup:
        raise EncodingError(f"Encoding stopped: {setup[0]['reason']}. {len(elements) - len(failures)} of "
                            f"{len(elements)} videos were encoded and kept; run the same command again to resume.")
    report.failed = [(f["video_id"], f["reason"]) for f in failures]
    report.encoded = len(elements) - len(failures)
    return report


__all__ = ["EncoderSpec", "EncodingError", "EncodingReport", "encode_frames", "shard_name"]
