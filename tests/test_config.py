import argparse
import dataclasses
from pathlib import Path

import pytest

from toolkit.config import Config, ConfigError, add_config_flags, config_from_args, load_config_module

VALID = Config(model_name="custom_cnn", weights=None)


@pytest.mark.parametrize("field, value, expected", [
    ("model_name", "resnet9000", "one of ['efficientnet_b0', 'efficientnet_lite0', 'custom_cnn', 'movenet_lightning', 'movenet_thunder']"),
    ("weights", "/no/such/weights.h5", "existing weights file"),
    ("weights", 3, "'imagenet'"),
    ("image_size", 8, "integer >= 32"),
    ("image_size", "224", "integer >= 32"),
    ("dropout", 1.5, "[0.0, 1.0)"),
    ("frames_per_video", 0, "integer >= 1"),
    ("temporal", "gru", "one of ['vote', 'lstm', 'transformer']"),
    ("vote_method", "median", "one of ['majority', 'mean', 'confidence']"),
    ("lstm_units", 0, "integer >= 1"),
    ("frame_head_units", -1, "integer >= 0"),
    ("transformer_units", 30, "multiple of 4"),
    ("transformer_layers", 0, "integer >= 1"),
    ("accept_rate", 0.3, "[0.5, 1.0)"),
    ("sequence_learning_rate", 0, "positive number"),
    ("distribute", "tpu", "one of ['none', 'mirrored', 'mirrored:<device>,<device>', 'multiworker']"),
    ("batch_size", 0, "integer >= 1"),
    ("epochs", -1, "integer >= 0"),
    ("fine_tune_epochs", -2, "integer >= 0"),
    ("learning_rate", 0.0, "positive number"),
    ("fine_tune_learning_rate", -1e-5, "positive number"),
    ("fine_tune_layers", -1, "integer >= 0"),
    ("head_epochs", 1.5, "integer >= 0"),
    ("augment", "yes", "True or False"),
    ("early_stopping_patience", -1, "integer >= 0"),
    ("validation_fraction", 1.2, "[0.0, 1.0)"),
    ("test_fraction", -0.1, "[0.0, 1.0)"),
    ("folds", 1, "integer >= 2"),
    ("seed", -3, "integer >= 0"),
    ("video_dir", "", "a folder path"),
    ("frames_dir", None, "a folder path"),
    ("runs_dir", "", "a folder path"),
])
def test_every_invalid_field_is_named_with_value_and_allowed(field, value, expected):
    with pytest.raises(ConfigError) as info:
        dataclasses.replace(VALID, **{field: value}).validate()
    message = str(info.value)
    assert f"'{field}'" in message
    assert repr(value) in message
    assert expected in message


def test_fractions_must_leave_training_data():
    with pytest.raises(ConfigError, match="validation_fraction=0.5, test_fraction=0.5"):
        dataclasses.replace(VALID, validation_fraction=0.5, test_fraction=0.5).validate()


def test_missing_data_folder_is_reported(tmp_path):
    config = dataclasses.replace(VALID, video_dir=str(tmp_path / "nope"))
    with pytest.raises(ConfigError, match="'video_dir'.*existing folder"):
        config.validate(existing_paths=("video_dir",))
    config = dataclasses.replace(VALID, video_dir=str(tmp_path))
    assert config.validate(existing_paths=("video_dir",)) is config


def test_project_config_module_is_valid():
    config = load_config_module()
    assert config.validate() == config


def test_config_module_unknown_field_is_a_typo_error(tmp_path):
    path = tmp_path / "config.py"
    path.write_text("model_nmae = 'custom_cnn'\n")
    with pytest.raises(ConfigError, match="model_nmae"):
        load_config_module(path)
    path.write_text("lstm_epochs = 20\n")
    with pytest.raises(ConfigError, match="renamed to 'head_epochs'"):
        load_config_module(path)
    path.write_text("reject_unknown = True\n")
    with pytest.raises(ConfigError, match="'reject_unknown'.*removed.*--no-reject.*delete that line"):
        load_config_module(path)


def test_model_names_combine_a_pose_and_a_pretrained_pixel_encoder():
    assert Config(model_name="movenet_thunder+efficientnet_lite0").validate()
    for bad in ("movenet_thunder+movenet_lightning", "efficientnet_b0+custom_cnn", "movenet_thunder+resnet"):
        with pytest.raises(ConfigError, match="joined by"):
            Config(model_name=bad).validate()
    with pytest.raises(ConfigError, match="needs a pretrained one"):
        Config(model_name="movenet_thunder+custom_cnn").validate()
    with pytest.raises(ConfigError, match="needs a pretrained one"):
        Config(model_name="movenet_thunder+efficientnet_lite0", weights=None).validate()


def test_default_config_works_offline_and_custom_cnn_accepts_the_default_weights():
    """The switch a user tries first: model_name = custom_cnn with weights left at "imagenet"."""
    default = load_config_module()
    assert default.model_name == "efficientnet_lite0" and default.weights == "imagenet"
    assert dataclasses.replace(default, model_name="custom_cnn").validate()


def test_flags_override_module_and_are_validated(tmp_path):
    path = tmp_path / "config.py"
    path.write_text("model_name = 'efficientnet_b0'\nepochs = 3\nweights = 'imagenet'\n")
    parser = argparse.ArgumentParser()
    add_config_flags(parser)
    config = config_from_args(parser.parse_args(
        ["--config", str(path), "--model-name", "custom_cnn", "--weights", "none", "--augment", "false"]))
    assert (config.model_name, config.weights, config.epochs, config.augment) == ("custom_cnn", None, 3, False)
    with pytest.raises(ConfigError, match="epochs=-4"):
        config_from_args(parser.parse_args(["--config", str(path), "--epochs", "-4"]))
    with pytest.raises(ConfigError, match="model_name='vgg'"):
        config_from_args(parser.parse_args(["--config", str(path), "--model-name", "vgg"]))


def test_a_non_editable_install_reads_the_working_directorys_config(tmp_path):
    """Installed into site-packages-like folder (not editable), a recipe finds config.py where it runs."""
    import os
    import subprocess
    import sys

    import shutil

    root = Path(__file__).resolve().parents[1]
    source = tmp_path / "source"  # a copy, so that the build leaves nothing in the project folder
    for name in ("toolkit", "workout_runtime"):
        shutil.copytree(root / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(root / name, source / name)
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target",
                    str(target), str(source)], check=True, capture_output=True)
    assert (target / "toolkit" / "config.py").is_file() and not (target / "toolkit").is_symlink()
    work = tmp_path / "work"
    work.mkdir()
    (work / "config.py").write_text('frames_dir = "my_frames_here"\n')
    env = {**os.environ, "PYTHONPATH": str(target)}
    result = subprocess.run([sys.executable, str(root / "recipes" / "train_video_classifier.py")], cwd=work, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "my_frames_here" in result.stderr and "Config file not found" not in result.stderr
    # The installed copy was used, not the source tree.
    check = subprocess.run([sys.executable, "-c", "import toolkit.config as c; print(c.__file__)"], cwd=work, env=env,
                           capture_output=True, text=True, timeout=300)
    assert str(target) in check.stdout


PRESETS = sorted((Path(__file__).resolve().parents[1] / "presets").glob("*.py"))


@pytest.mark.parametrize("preset", PRESETS, ids=[p.stem for p in PRESETS])
def test_every_preset_is_valid_and_has_a_figure(preset):
    load_config_module(preset)
    benchmarks = (preset.parents[1] / "BENCHMARKS.md").read_text()
    assert f"`{preset.stem}`" in benchmarks or f"presets/{preset.name}" in benchmarks, \
        f"{preset.name} has no figure in BENCHMARKS.md: run its command and add the row, or remove the preset"
