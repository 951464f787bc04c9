"""Frame encoding as a Beam stage (DirectRunner): the features the in-process cache computes, read by training
unchanged; resuming, a damaged frame, a worker without the model, and encoders that cannot be encoded ahead."""

import numpy as np
import pytest

pytest.importorskip("apache_beam")

from toolkit.data.manifest import read_manifest  # noqa: E402
from toolkit.training.encoding_pipeline import EncoderSpec, EncodingError, encode_frames  # noqa: E402
from toolkit.training.features import compute_frame_features  # noqa: E402

SPEC = EncoderSpec("efficientnet_lite0", 48, "imagenet")


@pytest.fixture()
def rows(synthetic_frames):
    rows = read_manifest(synthetic_frames)
    return [r for r in rows if r["label"] in ("squat", "push_up")]


@pytest.mark.slow  # two Beam worker processes, each starting TensorFlow: half a minute on 2 cores
def test_two_workers_write_the_features_training_reads(rows, tmp_path):
    report = encode_frames(rows, SPEC, tmp_path, runner="direct", workers=2)
    videos = len({r["video_id"] for r in rows})
    assert (report.encoded, report.skipped, report.failed, report.frames) == (videos, 0, [], len(rows))
    assert len(list(report.shard_dir.glob("*.npz"))) == videos

    encoder = SPEC.build()
    cache = SPEC.cache(tmp_path)
    features = cache.get(encoder, rows, progress=False)
    assert cache.computed == 0  # every frame came from the shards
    paths = [r.get("abs_path", r["path"]) for r in rows]
    expected = compute_frame_features(encoder, paths, 48)
    np.testing.assert_allclose(np.stack([features[p] for p in paths]), expected, atol=1e-4)

    again = encode_frames(rows, SPEC, tmp_path, runner="direct", workers=1)
    assert (again.encoded, again.skipped) == (0, videos)


def test_a_damaged_frame_fails_its_video_only(rows, tmp_path):
    import shutil

    copied = []
    for row in rows:
        target = tmp_path / "frames" / row["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(row["abs_path"], target)
        copied.append({**row, "abs_path": str(target)})
    broken = copied[0]
    (tmp_path / "frames" / broken["path"]).write_bytes(b"not a jpeg")
    report = encode_frames(copied, SPEC, tmp_path / "cache", runner="direct", workers=1)
    assert [video for video, _ in report.failed] == [broken["video_id"]] and report.failed[0][1]
    assert report.encoded == len({r["video_id"] for r in copied}) - 1


def test_a_worker_that_cannot_build_the_encoder_stops_the_run_and_a_rerun_resumes(rows, tmp_path, monkeypatch):
    built = []
    original = EncoderSpec.build

    def build_once(self):  # the driver builds it; the worker (same process, in memory) cannot
        built.append(1)
        if len(built) > 1:
            raise OSError("weights file missing on this worker")
        return original(self)

    monkeypatch.setattr(EncoderSpec, "build", build_once)
    with pytest.raises(EncodingError, match="could not build the encoder.*weights file missing.*run the same"):
        encode_frames(rows, SPEC, tmp_path, runner="direct", workers=1)
    monkeypatch.setattr(EncoderSpec, "build", original)
    assert not list(SPEC.cache(tmp_path).shard_dir(SPEC.build()).glob("*.npz"))
    report = encode_frames(rows, SPEC, tmp_path, runner="direct", workers=1)
    assert report.encoded == len({r["video_id"] for r in rows}) and not report.failed


@pytest.mark.parametrize("spec", [EncoderSpec("custom_cnn", 48), EncoderSpec("efficientnet_lite0", 48, None)])
def test_encoders_with_random_weights_are_refused(rows, tmp_path, spec):
    with pytest.raises(EncodingError, match="pretrained, frozen encoder"):
        encode_frames(rows, spec, tmp_path)


@pytest.mark.slow  # CI runs the stage through benchmarks/beam_encoding.py --smoke as well
def test_the_recipe_encodes_then_resumes_and_refuses_a_random_encoder(synthetic_frames, tmp_path):
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    frames = tmp_path / "frames"
    shutil.copytree(synthetic_frames, frames, ignore=shutil.ignore_patterns("feature_cache"))

    def recipe(*args):
        return subprocess.run([sys.executable, str(root / "recipes" / "encode_frames.py"), "--frames", str(frames),
                               "--image-size", "48", "--workers", "1", *args], capture_output=True, text=True,
                              cwd=tmp_path, timeout=600)

    first = recipe("--model-name", "efficientnet_lite0", "--weights", "imagenet")
    videos = len({r["video_id"] for r in read_manifest(frames)})
    assert first.returncode == 0 and f"{videos} videos encoded, 0 already encoded, 0 failed" in first.stdout, \
        first.stdout + first.stderr
    again = recipe("--model-name", "efficientnet_lite0", "--weights", "imagenet")
    assert f"0 videos encoded, {videos} already encoded" in again.stdout
    refused = recipe("--model-name", "custom_cnn")
    assert refused.returncode == 2 and "pretrained, frozen encoder" in refused.stderr and "Traceback" not in refused.stderr


def test_a_shard_written_twice_or_damaged_is_whole_and_trusted_only_when_whole(rows, tmp_path):
    from toolkit.training.encoding_pipeline import _EncodeVideo, shard_name
    from toolkit.training.features import encoder_fingerprint

    encoder = SPEC.build()
    cache = SPEC.cache(tmp_path)
    shard_dir = cache.shard_dir(encoder)
    shard_dir.mkdir(parents=True)
    work = _EncodeVideo(SPEC, encoder_fingerprint(encoder), str(shard_dir), cache.frame_size)
    work.setup()
    video_id = rows[0]["video_id"]
    element = {"video_id": video_id, "paths": [r["abs_path"] for r in rows if r["video_id"] == video_id]}
    first = list(work.process(element))
    written = (shard_dir / shard_name(video_id)).read_bytes()
    second = list(work.process(element))  # a retried bundle: the same shard again, whole, no temporary left
    assert first == second == [] and [p.name for p in shard_dir.iterdir()] == [shard_name(video_id)]
    assert (shard_dir / shard_name(video_id)).read_bytes() == written
    (shard_dir / shard_name(video_id)).write_bytes(written[:100])  # damaged (a disk filled up mid-copy)
    report = encode_frames([r for r in rows if r["video_id"] == video_id], SPEC, tmp_path, runner="direct",
                           workers=1)
    assert report.encoded == 1 and report.skipped == 0
    features = cache.get(encoder, [r for r in rows if r["video_id"] == video_id], progress=False)
    assert cache.computed == 0 and len(features) == len(element["paths"])
