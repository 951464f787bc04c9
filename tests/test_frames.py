import csv
import shutil

import pytest

from toolkit.data.frames import discover_videos, extract_frames
from toolkit.data.manifest import read_manifest


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
    with pytest.raises(RuntimeError, match="No video .* could be read"):
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
    with pytest.raises(ValueError, match="other output folder|Use another output folder"):
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
    with pytest.raises(ValueError, match="one folder per class.*move them into class folders"):
        discover_videos(tmp_path)
    with pytest.raises(FileNotFoundError, match="not found"):
        discover_videos(tmp_path / "missing")
