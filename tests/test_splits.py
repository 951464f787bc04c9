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
