import csv
import numpy as np
import pytest

from workout_runtime.frame_geometry import pad_frames
from workout_runtime.sampling import read_frames
from workout_runtime.video import VideoReadError, probe_video, uniform_indices


def _first_video(folder):
    with open(folder / "manifest.csv") as f:
        row = next(csv.DictReader(f))
    return folder / row["path"], row


def test_probe_measures_frames_and_fps(synthetic_videos):
    path, row = _first_video(synthetic_videos)
    info = probe_video(path)
    assert info.frame_count == int(row["frames"])
    assert info.fps == pytest.approx(float(row["fps"]), rel=0.01)
    assert (info.width, info.height) == (int(row["width"]), int(row["height"]))


def test_uniform_sampling_returns_rgb_uint8_at_size(synthetic_videos):
    path, row = _first_video(synthetic_videos)
    clip = read_frames(path, 6, size=(40, 50))
    assert clip.frames.shape == (6, 40, 50, 3)
    assert clip.frames.dtype == np.uint8
    np.testing.assert_array_equal(clip.frame_indices, uniform_indices(int(row["frames"]), 6))
    assert np.all(np.diff(clip.timestamps_s) > 0)
    assert clip.frames.std() > 1  # real content, not a blank frame


def test_max_side_shrinks_keeping_the_aspect_ratio(synthetic_videos):
    path, row = _first_video(synthetic_videos)
    width, height = int(row["width"]), int(row["height"])
    long_side = max(width, height)
    clip = read_frames(path, 3, max_side=long_side // 2)
    assert max(clip.frames.shape[1:3]) == long_side // 2
    assert clip.frames.shape[2] / clip.frames.shape[1] == pytest.approx(width / height, rel=0.05)
    # Frames already within the bound keep their decoded size.
    assert read_frames(path, 3, max_side=long_side).frames.shape[1:3] == (height, width)


def test_short_video_returns_each_frame_once(synthetic_videos):
    path, row = _first_video(synthetic_videos)
    clip = read_frames(path, 10_000, size=32)
    assert len(clip.frames) == int(row["frames"])
    padded, mask = pad_frames(clip.frames, len(clip.frames) + 3)
    assert mask.sum() == len(clip.frames) and not padded[-1].any()


def test_sampling_by_rate(synthetic_videos):
    path, row = _first_video(synthetic_videos)
    clip = read_frames(path, every_seconds=0.5)
    duration = int(row["frames"]) / float(row["fps"])
    assert len(clip.frames) == pytest.approx(duration / 0.5, abs=1)
    np.testing.assert_allclose(np.diff(clip.timestamps_s), 0.5, atol=1 / float(row["fps"]))


def test_uniform_indices_are_centred_and_in_range():
    np.testing.assert_array_equal(uniform_indices(100, 4), [12, 37, 62, 87])
    assert uniform_indices(0, 4).size == 0


def test_wrong_sampling_arguments():
    with pytest.raises(ValueError, match="exactly one"):
        read_frames("x.mp4")
    with pytest.raises(ValueError, match="exactly one"):
        read_frames("x.mp4", 4, every_seconds=1.0)


def _broken(tmp_path, synthetic_videos, kind):
    good, _ = _first_video(synthetic_videos)
    path = tmp_path / f"{kind}.mp4"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("this is not a video\n" * 20)
    elif kind == "truncated":
        data = good.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "missing":
        pass
    elif kind == "garbage_middle":
        data = bytearray(good.read_bytes())
        data[len(data) // 3:] = b"\x00" * (len(data) - len(data) // 3)
        path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("kind, reason", [
    ("empty", "empty"),
    ("text", "not a video"),
    ("truncated", "truncated"),
    ("missing", "does not exist"),
    ("garbage_middle", "corrupt"),
])
def test_broken_files_raise_one_clear_error(tmp_path, synthetic_videos, kind, reason):
    path = _broken(tmp_path, synthetic_videos, kind)
    for call in (lambda: read_frames(path, 4), lambda: probe_video(path)):
        with pytest.raises(VideoReadError) as info:
            call()
        assert str(path) in str(info.value)
        assert reason in str(info.value)
        assert info.value.path == str(path)


@pytest.mark.slow
def test_truncated_h264_with_index_up_front(tmp_path, shared_dir):
    """A real H.264 MP4 keeps its index up front, so a cut copy still opens;
    decoding must reveal the truncation instead of returning a short read."""
    source = shared_dir / "data" / "workout4" / "squats"
    good = sorted(source.glob("*.mp4"))[0]
    data = good.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoReadError, match="truncated"):
        read_frames(cut, 16)


def test_seeking_returns_the_same_frames_as_decoding_through(synthetic_videos):
    longest = max((p for p in synthetic_videos.rglob("*.mp4")), key=lambda p: p.stat().st_size)
    sequential = read_frames(longest, 4, size=32, seek_gap=None)
    seeking = read_frames(longest, 4, size=32, seek_gap=2)
    np.testing.assert_array_equal(seeking.frame_indices, sequential.frame_indices)
    np.testing.assert_array_equal(seeking.frames, sequential.frames)
    np.testing.assert_allclose(seeking.timestamps_s, sequential.timestamps_s, atol=1e-3)


def test_seeking_falls_back_and_detects_truncation(synthetic_videos, tmp_path):
    good = max((p for p in synthetic_videos.rglob("*.mp4")), key=lambda p: p.stat().st_size)
    cut = tmp_path / "cut.mp4"
    data = good.read_bytes()
    cut.write_bytes(data[: int(len(data) * 0.6)])
    with pytest.raises(VideoReadError):
        read_frames(cut, 4, seek_gap=2)


@pytest.mark.parametrize("seek_gap", [None, 2])
def test_frames_handed_to_a_callback_are_not_kept(synthetic_videos, seek_gap):
    video = max((p for p in synthetic_videos.rglob("*.mp4")), key=lambda p: p.stat().st_size)
    kept = read_frames(video, 4, size=32, seek_gap=seek_gap)
    received = []
    streamed = read_frames(video, 4, size=32, seek_gap=seek_gap, keep=False,
                           on_frame=lambda frame, index, time_s: received.append((frame, index, time_s)))
    assert len(streamed.frames) == 0 and len(received) == 4
    np.testing.assert_array_equal(np.stack([f for f, _, _ in received]), kept.frames)
    assert [i for _, i, _ in received] == list(kept.frame_indices)
    np.testing.assert_allclose([t for _, _, t in received], kept.timestamps_s, atol=1e-3)
