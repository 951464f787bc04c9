import numpy as np
import pytest

from toolkit.data.splits import (LeakageError, check_no_leakage, grouped_kfold, grouped_split, kfold_manifest,
                                 load_split, save_split, split_manifest)


def _items(classes=4, groups=10, per_group=6, seed=0):
    rng = np.random.default_rng(seed)
    labels, group_ids = [], []
    for g in range(groups):
        for _ in range(per_group):
            labels.append(f"c{rng.integers(classes)}")
            group_ids.append(f"g{g}")
    return np.array(labels), np.array(group_ids)


def _assert_groups_whole(groups, subsets):
    for g in set(groups):
        assert len(set(subsets[groups == g])) == 1, g


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_holdout_never_splits_a_group(seed):
    labels, groups = _items(seed=seed)
    subsets = grouped_split(labels, groups, 0.15, 0.2, seed)
    _assert_groups_whole(groups, subsets)
    assert {"train", "validation", "test"} == set(subsets)


def test_kfold_never_splits_a_group_and_covers_everything():
    labels, groups = _items(groups=12)
    folds = grouped_kfold(labels, groups, folds=4)
    tested = np.zeros(len(labels), dtype=int)
    for subsets in folds:
        _assert_groups_whole(groups, subsets)
        tested += subsets == "test"
    assert (tested == 1).all()


def test_manifest_split_roundtrip_and_leak_check(tmp_path):
    rows = [{"video_id": f"v{i}", "group": f"g{i // 3}", "label": f"c{i % 2}"} for i in range(24) for _ in range(4)]
    subsets = split_manifest(rows, 0.2, 0.2, seed=3)
    path = save_split(tmp_path, rows, subsets)
    np.testing.assert_array_equal(load_split(path, rows), subsets)
    for fold in kfold_manifest(rows, folds=3):
        check_no_leakage([r["group"] for r in rows], fold, [r["video_id"] for r in rows])


def test_leak_is_detected_by_group_video_and_near_duplicate():
    with pytest.raises(LeakageError, match="group 'a'"):
        check_no_leakage(["a", "a", "b"], ["train", "test", "test"])
    with pytest.raises(LeakageError, match="video"):
        check_no_leakage(["a", "b"], ["train", "test"], video_ids=["v", "v"])
    hashes = np.array([0b1111, 0b1110, 2**40], dtype=np.uint64)
    with pytest.raises(LeakageError, match="near-duplicate"):
        check_no_leakage(["a", "b", "c"], ["train", "test", "test"], hashes=hashes, max_distance=2)


def test_class_with_too_few_groups_is_named():
    labels = np.array(["rare"] * 3 + ["common"] * 12)
    groups = np.array(["r0"] * 3 + [f"c{i}" for i in range(12)])
    with pytest.raises(ValueError, match="'rare': 1"):
        grouped_split(labels, groups)
    labels = np.array(["rare"] * 4 + ["common"] * 12)
    groups = np.array(["r0", "r0", "r1", "r1"] + [f"c{i}" for i in range(12)])
    with pytest.warns(UserWarning, match="'rare': 2"):
        grouped_split(labels, groups, 0.15, 0.2)


def test_pixel_audit_finds_identical_pictures_across_the_split_and_refuses_the_run(tmp_path):
    """A manifest with one group per photo passes the group check; the pixels do not lie."""
    from pathlib import Path

    import cv2

    from toolkit.data.images import load_image_folder
    from toolkit.data.splits import audit_pixels
    from toolkit.config import Config
    from toolkit.training.trainer import train_run

    rng = np.random.default_rng(0)
    for label in ("squat", "lunge"):
        (tmp_path / label).mkdir()
        for k in range(6):
            image = cv2.resize(rng.integers(0, 255, (8, 8, 3)).astype(np.uint8), (64, 64), interpolation=cv2.INTER_CUBIC)
            cv2.imwrite(str(tmp_path / label / f"{k}.png"), image)
            cv2.imwrite(str(tmp_path / label / f"copy_{k}.png"), image)  # the same photo under another name
    rows = load_image_folder(tmp_path).rows
    for row in rows:
        row["group"] = row["video_id"]  # a manifest with one group per photo: the group check cannot see copies
    subsets = split_manifest(rows, 0.2, 0.3, seed=0)
    check_no_leakage([r["group"] for r in rows], subsets, [r["video_id"] for r in rows])
    audit = audit_pixels(rows, subsets)
    assert audit.share > 0.3 and audit.pairs[0][2] == 0
    held_out, trained, _ = audit.pairs[0]
    assert Path(held_out).name.removeprefix("copy_") == Path(trained).name.removeprefix("copy_")
    config = Config(model_name="custom_cnn", image_size=32, frames_per_video=1, epochs=1, head_epochs=1)
    with pytest.raises(LeakageError, match="leaks by pixels.*--near-duplicate-tolerance"):
        train_run(config, rows, subsets, tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()
    # Grouped by the true photo, the audit is clean.
    for row in rows:
        row["group"] = row["video_id"].split("/")[1].removeprefix("copy_") + row["label"]
    subsets = split_manifest(rows, 0.2, 0.3, seed=0)
    assert audit_pixels(rows, subsets).leaking_videos == []


def test_a_cross_validation_summary_says_what_every_folds_pixel_audit_found(tmp_path):
    import json

    from toolkit.evaluation.cross_validation import pixel_audit_summary

    for k, leaking in enumerate((["squat/a", "squat/b"], [])):
        fold = tmp_path / "repeat_0" / f"fold_{k}"
        fold.mkdir(parents=True)
        (fold / "leakage_audit.json").write_text(json.dumps({"held_out_videos": 10, "leaking_videos": leaking,
                                                             "pairs": [], "max_distance": 2, "unit": "images"}))
    line = pixel_audit_summary(tmp_path, 1, 2)
    assert "2 of 20 held-out images" in line and "at most 20% in one fold" in line and "optimistic" in line
    (tmp_path / "repeat_0" / "fold_0" / "leakage_audit.json").unlink()
    assert "no held-out frame" in pixel_audit_summary(tmp_path, 1, 2) and "1 folds without a record" in \
        pixel_audit_summary(tmp_path, 1, 2)
    assert "not recorded" in pixel_audit_summary(tmp_path / "elsewhere", 1, 2)
