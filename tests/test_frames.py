import csv
import shutil

import pytest

from toolkit.data.frames import discover_videos, extract_frames
from toolkit.data.manifest import read_manifest
from toolkit.errors import DatasetError


def _video_rows(folder):
    with open(folder / "manifest.csv") as f:
        return list(csv.DictReader(f))


def test_extraction_rows_timestamps_and_groups(synthetic_videos, tmp_path):
    report = extract_frames(synthetic_videos, tmp_path / "frames", num_frames=5, size=48, progress=False)
    rows = read_manifest(report.manifest)
    videos = _video_rows(synthetic_videos)
    assert report.extracted == len(videos) and not report.failed
    per_video = {}
    for row in rows:
        per_video.setdefault(row["video_id"], []).append(row)
    assert len(per_video) == len(videos)
    group_of = {v["path"].rsplit(".", 1)[0]: v["group"] for v in videos}
    for video_id, frames in per_video.items():
        assert len(frames) == 5
        stamps = [float(r["timestamp_s"]) for r in frames]
        assert stamps == sorted(stamps) and len(set(stamps)) == 5
        # Groups come from the synthetic manifest's performer column.
        assert {r["group"] for r in frames} == {group_of[video_id]}
        assert (tmp_path / "frames" / frames[0]["path"]).is_file()


def test_corrupt_video_is_skipped_and_reported(synthetic_videos, tmp_path):
    videos = tmp_path / "videos"
    shutil.copytree(synthetic_videos / "squat", videos / "squat")
    (videos / "squat" / "broken.mp4").write_bytes(b"\x00\x01garbage" * 100)
    (videos / "squat" / "empty.mp4").write_bytes(b"")
    report = extract_frames(videos, tmp_path / "frames", num_frames=3, progress=False)
    failed = {p.split("/")[-1]: reason for p, reason in report.failed}
    assert set(failed) == {"broken.mp4", "empty.mp4"}
    assert "empty" in failed["empty.mp4"]
    with open(tmp_path / "frames" / "failed.csv") as f:
        assert len(list(csv.DictReader(f))) == 2
    assert report.extracted == 3


def test_nothing_readable_fails(tmp_path):
    (tmp_path / "v" / "squat").mkdir(parents=True)
    (tmp_path / "v" / "squat" / "a.mp4").write_text("not a video")
    with pytest.raises(DatasetError, match="No video .* could be read"):
        extract_frames(tmp_path / "v", tmp_path / "f", progress=False)


def test_resumed_run_skips_finished_videos(synthetic_videos, tmp_path):
    out = tmp_path / "frames"
    first = extract_frames(synthetic_videos, out, num_frames=3, size=32, progress=False)
    # Simulate an interruption: one video lost its completion marker.
    victim = next((out / "squat").iterdir())
    (victim / "frames.csv").unlink()
    second = extract_frames(synthetic_videos, out, num_frames=3, size=32, progress=False)
    assert second.extracted == 1
    assert second.resumed == first.extracted - 1
    assert second.frames == first.frames
    with pytest.raises(DatasetError, match="other output folder|Use another output folder"):
        extract_frames(synthetic_videos, out, num_frames=4, size=32, progress=False)


def test_group_pattern_and_group_csv(synthetic_videos, tmp_path):
    report = extract_frames(synthetic_videos, tmp_path / "a", num_frames=2, size=32,
                            group_pattern=r"_(p\d+)_", progress=False)
    rows = read_manifest(report.manifest)
    assert all(r["group"] == r["video_id"].split("_")[-2] for r in rows)
    table = tmp_path / "groups.csv"
    table.write_text("video,group\n" + "".join(f"{r['video_id'].split('/')[1]}.mp4,G{i % 2}\n"
                                                for i, r in enumerate(rows[::2])))
    report = extract_frames(synthetic_videos, tmp_path / "b", num_frames=2, size=32, group_csv=table,
                            progress=False)
    assert {r["group"] for r in read_manifest(report.manifest)} == {"G0", "G1"}


def test_wrong_folder_layout_names_the_fix(tmp_path):
    (tmp_path / "clip.mp4").write_bytes(b"x")
    with pytest.raises(DatasetError, match="one folder per class.*move them into class folders"):
        discover_videos(tmp_path)
    with pytest.raises(DatasetError, match="not found"):
        discover_videos(tmp_path / "missing")


def _two_class_videos(synthetic_videos, tmp_path, per_class=2):
    videos = tmp_path / "videos"
    for label in ("squat", "lunge"):
        (videos / label).mkdir(parents=True)
        for path in sorted((synthetic_videos / label).glob("*.mp4"))[:per_class]:
            shutil.copy(path, videos / label / path.name)
    return videos


def test_two_videos_with_one_name_get_a_frame_folder_each(synthetic_videos, tmp_path):
    videos = _two_class_videos(synthetic_videos, tmp_path)
    squats = sorted((synthetic_videos / "squat").glob("*.mp4"))
    shutil.copy(squats[0], videos / "squat" / "clip.mp4")
    # The same stem, another container and content: once they shared a folder and a done-marker.
    import cv2
    capture, writer = cv2.VideoCapture(str(squats[2])), None
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        if writer is None:
            writer = cv2.VideoWriter(str(videos / "squat" / "clip.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10,
                                     (frame.shape[1], frame.shape[0]))
        writer.write(frame)
    writer.release()
    report = extract_frames(videos, tmp_path / "frames", num_frames=3, progress=False, one_group_per_video=True)
    rows = read_manifest(report.manifest)
    ids = {r["video_id"] for r in rows}
    assert {"squat/clip.mp4", "squat/clip.avi"} <= ids
    for video_id in ("squat/clip.mp4", "squat/clip.avi"):
        frames = [r for r in rows if r["video_id"] == video_id]
        assert len(frames) == 3 and all(r["path"].startswith(video_id + "/") for r in frames)
        assert (tmp_path / "frames" / video_id / "frames.csv").is_file()
    assert len(rows) == len({r["path"] for r in rows})  # no frame listed twice


def test_dataset_manifest_groups_are_strict_and_found_in_any_case(synthetic_videos, tmp_path):
    videos = _two_class_videos(synthetic_videos, tmp_path)
    names = sorted(p.relative_to(videos).as_posix() for p in videos.rglob("*.mp4"))
    manifest = videos / "MANIFEST.csv"  # upper case, as some dataset exports write it
    manifest.write_text("path,group\n" + "".join(f"{n},source_{i % 2}\n" for i, n in enumerate(names)))
    report = extract_frames(videos, tmp_path / "a", num_frames=2, progress=False)
    assert "MANIFEST.csv" in report.group_source and report.groups_per_class == {"lunge": 2, "squat": 2}
    # A manifest missing a video: an error naming it, unless one group per video is accepted.
    manifest.write_text("path,group\n" + "".join(f"{n},source_{i % 2}\n" for i, n in enumerate(names[1:])))
    with pytest.raises(DatasetError, match=f"no group for 1 of 4 videos.*{names[0]}.*--one-group-per-video"):
        extract_frames(videos, tmp_path / "b", num_frames=2, progress=False)
    assert not (tmp_path / "b").exists()  # refused before writing anything
    report = extract_frames(videos, tmp_path / "b", num_frames=2, progress=False, one_group_per_video=True)
    assert "1 videos without one are their own group" in report.group_source
    # Another name for the group column: an error listing the columns found.
    manifest.write_text("path,source\n" + "".join(f"{n},s{i}\n" for i, n in enumerate(names)))
    with pytest.raises(DatasetError, match=r"has columns \['path', 'source'\].*'group'"):
        extract_frames(videos, tmp_path / "c", num_frames=2, progress=False)


def test_empty_class_folder_is_named(synthetic_videos, tmp_path):
    videos = _two_class_videos(synthetic_videos, tmp_path)
    (videos / "push_up").mkdir()
    (videos / "push_up" / "notes.txt").write_text("to do")
    entries, notes = discover_videos(videos)
    assert {e.label for e in entries} == {"squat", "lunge"}
    assert notes and "push_up" in notes[0] and "holds no videos" in notes[0]


def test_frames_are_written_as_they_are_decoded(synthetic_videos, tmp_path, monkeypatch):
    """Extraction must not hold a video's frames: the reader keeps none and each is on disk before the next."""
    import toolkit.data.frames as frames_module

    real = frames_module.read_frames
    seen = {}

    def spy(path, *args, keep=True, on_frame=None, **kwargs):
        def check(frame, index, time_s):
            on_frame(frame, index, time_s)
            if frame is not None:
                seen[index] = len(list(tmp_path.rglob("frame_*.jpg")))
        clip = real(path, *args, keep=keep, on_frame=check, **kwargs)
        seen["kept"] = len(clip.frames)
        return clip

    monkeypatch.setattr(frames_module, "read_frames", spy)
    video = sorted((synthetic_videos / "squat").glob("*.mp4"))[:1]
    (tmp_path / "v" / "squat").mkdir(parents=True)
    shutil.copy(video[0], tmp_path / "v" / "squat" / "a.mp4")
    extract_frames(tmp_path / "v", tmp_path / "f", every_seconds=0.2, progress=False)
    assert seen.pop("kept") == 0
    counts = [seen[k] for k in sorted(seen)]
    assert counts == list(range(1, len(counts) + 1)) and len(counts) > 5
