import cv2
import numpy as np
import pytest

from toolkit.data.images import cluster_near_duplicates, load_image_folder, perceptual_hash
from toolkit.data.splits import check_no_leakage, grouped_split
from toolkit.errors import DatasetError
from workout_runtime.images import ImageReadError, read_image


def _scene(seed, size=128):
    rng = np.random.default_rng(seed)
    image = cv2.resize(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8), (size, size), interpolation=cv2.INTER_CUBIC)
    cv2.circle(image, tuple(int(v) for v in rng.integers(20, 100, 2)), 15, (255, 255, 255), -1)
    return image


def _altered(image, seed=0):
    rng = np.random.default_rng(seed)
    out = cv2.convertScaleAbs(image, alpha=1.1, beta=8)  # brighter
    out = cv2.GaussianBlur(out, (3, 3), 0)
    out = np.clip(out.astype(np.int16) + rng.normal(0, 4, out.shape), 0, 255).astype(np.uint8)
    h, w = out.shape[:2]
    return cv2.resize(out[2:h - 2, 3:w - 1], (w, h))  # a slight crop


def test_near_duplicates_join_and_different_scenes_stay_apart():
    scenes = [_scene(s) for s in range(12)]
    images = scenes + [_altered(s, i) for i, s in enumerate(scenes[:6])]
    hashes = np.array([perceptual_hash(i) for i in images], dtype=np.uint64)
    clusters = cluster_near_duplicates(hashes)
    for i in range(6):
        assert clusters[i] == clusters[12 + i]
    assert len(set(clusters[:12])) == 12


def test_clustering_over_owners_joins_videos():
    hashes = np.array([1, 2**63, 3, 0xFF00], dtype=np.uint64)
    owners = ["va", "va", "vb", "vc"]
    clusters = cluster_near_duplicates(hashes, max_distance=2, owners=owners)
    assert clusters[0] == clusters[1] == clusters[2]
    assert clusters[3] != clusters[0]


def test_image_folder_groups_near_duplicates_and_splits_cleanly(tmp_path):
    for k in range(10):
        folder = tmp_path / f"class{k % 2}"
        folder.mkdir(exist_ok=True)
        scene = _scene(100 + k)
        cv2.imwrite(str(folder / f"img{k}_a.png"), scene)
        cv2.imwrite(str(folder / f"img{k}_b.png"), _altered(scene, k))
    (tmp_path / "class0" / "broken.jpg").write_bytes(b"nope")
    folder = load_image_folder(tmp_path, near_duplicate_distance=10)
    rows, source = folder.rows, folder.group_source
    assert "near-duplicate" in source and any("broken.jpg" in n for n in folder.notes)
    groups = {r["video_id"]: r["group"] for r in rows}
    for k in range(10):
        label = f"class{k % 2}"
        assert groups[f"{label}/img{k}_a"] == groups[f"{label}/img{k}_b"]
    assert len(set(groups.values())) == 10
    subsets = grouped_split([r["label"] for r in rows], [r["group"] for r in rows], 0.2, 0.2, seed=0)
    hashes = np.array([int(r["phash"], 16) for r in rows], dtype=np.uint64)
    check_no_leakage([r["group"] for r in rows], subsets, hashes=hashes, max_distance=10)


def test_image_folder_group_pattern(tmp_path):
    (tmp_path / "squat").mkdir()
    for name in ("p1_a.jpg", "p1_b.jpg", "p2_a.jpg"):
        cv2.imwrite(str(tmp_path / "squat" / name), _scene(hash(name) % 1000))
    rows = load_image_folder(tmp_path, group_pattern=r"^(p\d+)_").rows
    assert sorted(r["group"] for r in rows) == ["p1", "p1", "p2"]
    (tmp_path / "squat" / "other.jpg").write_bytes((tmp_path / "squat" / "p2_a.jpg").read_bytes())
    with pytest.raises(DatasetError, match="no group for 1 of 4 images"):
        load_image_folder(tmp_path, group_pattern=r"^(p\d+)_")
    rows = load_image_folder(tmp_path, group_pattern=r"^(p\d+)_", one_group_per_image=True).rows
    assert {r["group"] for r in rows} == {"p1", "p2", "squat/other"}


def test_image_folder_takes_groups_from_its_own_manifest_whatever_its_case(tmp_path):
    (tmp_path / "squat").mkdir()
    (tmp_path / "lunge").mkdir()
    for k, (label, person) in enumerate([("squat", "anna"), ("squat", "ben"), ("lunge", "anna"), ("lunge", "ben")]):
        cv2.imwrite(str(tmp_path / label / f"photo{k}.jpg"), _scene(200 + k))
    table = "path,label,group\n" + "".join(f"{label}/photo{k}.jpg,{label},{person}\n" for k, (label, person) in
                                           enumerate([("squat", "anna"), ("squat", "ben"), ("lunge", "anna"),
                                                      ("lunge", "ben")]))
    (tmp_path / "MANIFEST.CSV").write_text(table)
    folder = load_image_folder(tmp_path)
    assert {r["video_id"]: r["group"] for r in folder.rows} == {
        "squat/photo0": "anna", "squat/photo1": "ben", "lunge/photo2": "anna", "lunge/photo3": "ben"}
    assert "MANIFEST.CSV" in folder.group_source
    cv2.imwrite(str(tmp_path / "squat" / "photo9.jpg"), _scene(299))  # a photo the table does not know
    with pytest.raises(DatasetError, match=r"no group for 1 of 5 images.*photo9.*Add them to"):
        load_image_folder(tmp_path)
    (tmp_path / "MANIFEST.CSV").write_text("path,label\nsquat/photo0.jpg,squat\n")
    with pytest.raises(DatasetError, match="expected 'group'"):
        load_image_folder(tmp_path)


def test_image_folder_default_joins_copies_only_and_says_sources_are_unknown(tmp_path):
    (tmp_path / "squat").mkdir()
    (tmp_path / "lunge").mkdir()
    (tmp_path / "empty_class").mkdir()
    for k in range(3):
        cv2.imwrite(str(tmp_path / "squat" / f"a{k}.png"), _scene(k))
        cv2.imwrite(str(tmp_path / "lunge" / f"b{k}.png"), _scene(50 + k))
    (tmp_path / "lunge" / "copy_of_a0.png").write_bytes((tmp_path / "squat" / "a0.png").read_bytes())
    folder = load_image_folder(tmp_path)
    groups = {r["video_id"]: r["group"] for r in folder.rows}
    assert groups["squat/a0"] == groups["lunge/copy_of_a0"]  # an identical copy under another name
    assert len(set(groups.values())) == 6
    assert "optimistic" in folder.group_source and "--group-csv" in folder.group_source
    assert any("empty_class" in note for note in folder.notes)


def test_damaged_images_are_refused_with_the_reason(tmp_path):
    image = _scene(3)
    cv2.imwrite(str(tmp_path / "whole.jpg"), image)
    cv2.imwrite(str(tmp_path / "whole.png"), image)
    data = (tmp_path / "whole.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[:len(data) // 2])
    (tmp_path / "cut.png").write_bytes((tmp_path / "whole.png").read_bytes()[:-40])
    (tmp_path / "empty.jpg").write_bytes(b"")
    assert read_image(tmp_path / "whole.jpg").shape == image.shape
    # libjpeg decodes the first half and greys the rest: without the check it would be classified.
    assert cv2.imread(str(tmp_path / "cut.jpg")) is not None
    for name, reason in (("cut.jpg", "JPEG is truncated"), ("cut.png", "PNG is truncated"), ("empty.jpg", "empty"),
                         ("missing.jpg", "does not exist")):
        with pytest.raises(ImageReadError, match=reason):
            read_image(tmp_path / name)


def test_pictures_too_large_or_too_small_are_refused_before_decoding(tmp_path):
    import cv2

    from workout_runtime.images import ImageReadError, read_image
    from workout_runtime.sampling import read_frames
    from workout_runtime.video import VideoReadError

    huge = tmp_path / "huge.png"
    header = bytearray(cv2.imencode(".png", np.zeros((40, 40, 3), np.uint8))[1].tobytes())
    header[16:24] = (20000).to_bytes(4, "big") + (20000).to_bytes(4, "big")  # claims 20000x20000
    huge.write_bytes(bytes(header))
    with pytest.raises(ImageReadError, match="20000x20000 pixels, more than"):
        read_image(huge)
    tiny = tmp_path / "tiny.jpg"
    cv2.imwrite(str(tiny), np.zeros((1, 1, 3), np.uint8))
    with pytest.raises(ImageReadError, match="too small to show a person"):
        read_image(tiny)
    # A picture renamed .mp4 is not a one-frame video.
    disguised = tmp_path / "clip.mp4"
    disguised.write_bytes(cv2.imencode(".jpg", np.zeros((64, 64, 3), np.uint8))[1].tobytes())
    with pytest.raises(VideoReadError, match="JPEG picture, not a video"):
        read_frames(disguised, 4)
