"""One trainer for every encoder: runs on disk, loadable models, resuming, and refusals before any write."""

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import MOVENET
from toolkit.config import Config
from toolkit.data.manifest import read_manifest
from toolkit.data.splits import LeakageError, split_manifest
from toolkit.errors import DatasetError, RunError
from toolkit.models.efficientnet import WeightsUnavailableError
from toolkit.temporal.inference import VideoClassifier
from toolkit.training.trainer import train_run

# The joined encoder trains its two parts, each tested alone here; together they take a minute and a half more.
ENCODERS = ["custom_cnn", "efficientnet_lite0", "movenet_lightning",
            pytest.param("movenet_lightning+efficientnet_lite0", marks=pytest.mark.slow)]


def tiny_config(model_name="custom_cnn", **changes):
    settings = dict(model_name=model_name, image_size=48, frames_per_video=4, epochs=1, head_epochs=3, batch_size=16,
                    early_stopping_patience=2, lstm_units=8, transformer_units=8, frame_head_units=8,
                    pose_model_dir=str(MOVENET), validation_fraction=0.25, test_fraction=0.25, seed=0,
                    calibration_folds=0)  # cross-fitted thresholds are tested in test_negatives
    settings.update(changes)
    return Config(**settings).validate()


@pytest.fixture(scope="module")
def rows_and_split(synthetic_frames):
    rows = read_manifest(synthetic_frames)
    return rows, split_manifest(rows, 0.25, 0.25, seed=0)


LOAD_SCRIPT = """
import json, sys
import keras, numpy as np
import toolkit  # registers the toolkit's layers
from workout_runtime.sampling import read_frames
run, video = sys.argv[1], sys.argv[2]
info = json.load(open(f"{run}/run.json"))
geometry = {"size": info["frame_size"]} if info["frame_size"] else {"max_side": info["max_side"]}
frames = read_frames(video, info["num_frames"], **geometry).frames
clip = np.zeros((1, info["num_frames"], *frames.shape[1:]), np.uint8)
clip[0, :len(frames)] = frames
out = {}
for aggregator, entry in info["aggregators"].items():
    model = keras.models.load_model(f"{run}/{entry['file']}", safe_mode=True)
    out[aggregator] = keras.ops.convert_to_numpy(model(clip))[0].tolist()
print(json.dumps(out))
"""


@pytest.mark.parametrize("model_name", ENCODERS)
def test_every_encoder_trains_a_run_whose_models_load_in_a_fresh_interpreter(model_name, rows_and_split, tmp_path,
                                                                           synthetic_videos):
    if "movenet" in model_name and not (MOVENET / "movenet-lightning.json").is_file():
        pytest.skip("MoveNet models absent from ../shared/models")
    rows, subsets = rows_and_split
    run = tmp_path / "run"
    trained = train_run(tiny_config(model_name), rows, subsets, run, progress=False, log=lambda _: None)
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "complete" and set(info["aggregators"]) == {"vote", "lstm", "transformer"}
    assert (info["frame_size"] is None) == ("movenet" in model_name)
    for name in ("vote.keras", "lstm.keras", "transformer.keras", "config.json", "class_names.json", "split.csv",
                 "training_log_lstm.csv"):
        assert (run / name).is_file(), name
    assert all(0 <= e["threshold"] <= 1 for e in info["aggregators"].values())
    assert len(trained.heads) == 3
    # The saved models, loaded by plain Keras in a fresh interpreter (safe mode), give the classifier's answer.
    video = sorted((synthetic_videos / "squat").glob("*.mp4"))[0]
    result = subprocess.run([sys.executable, "-c", LOAD_SCRIPT, str(run), str(video)], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    for aggregator, probabilities in loaded.items():
        verdict = VideoClassifier.from_run(run, aggregator, reject=False).classify(video)
        np.testing.assert_allclose([verdict.probabilities[c] for c in info["class_names"]], probabilities,
                                   rtol=1e-4, atol=1e-5)


def test_a_finished_run_is_refused_and_an_interrupted_one_resumes_with_the_same_settings(rows_and_split, tmp_path):
    rows, subsets = rows_and_split
    run = tmp_path / "run"
    config = tiny_config()
    train_run(config, rows, subsets, run, aggregators=("vote",), progress=False, log=lambda _: None)
    model_bytes = (run / "vote.keras").read_bytes()
    with pytest.raises(RunError, match="finished run.*--overwrite"):
        train_run(config, rows, subsets, run, progress=False, log=lambda _: None)
    assert (run / "vote.keras").read_bytes() == model_bytes  # nothing lost
    # An interrupted run: resumed with the same settings, refused with others.
    info = json.loads((run / "run.json").read_text())
    info["status"] = "training"
    (run / "run.json").write_text(json.dumps(info))
    with pytest.raises(RunError, match="other settings.*epochs: 1 -> 2"):
        train_run(tiny_config(epochs=2), rows, subsets, run, progress=False, log=lambda _: None)
    notes = []
    train_run(config, rows, subsets, run, aggregators=("vote",), progress=False, log=notes.append)
    assert any(note.startswith("resuming") for note in notes) and notes[0].startswith("pixel audit")
    train_run(tiny_config(epochs=2), rows, subsets, run, aggregators=("vote",), overwrite=True, progress=False,
              log=lambda _: None)
    assert json.loads((run / "config.json").read_text())["epochs"] == 2


def test_resumed_encoder_training_keeps_the_best_validation_loss_before_the_interruption(rows_and_split, tmp_path):
    from toolkit.models import build_encoder, build_frame_head
    from toolkit.data.splits import split_rows
    from toolkit.training.encoder_training import CHECKPOINT_DIR, FRAME_CLASSIFIER_FILE, train_encoder

    rows, subsets = rows_and_split
    parts = split_rows(rows, subsets)
    class_names = sorted({r["label"] for r in rows})
    config = tiny_config(epochs=1)
    # Before the interruption an epoch reached a validation loss no resumed epoch will beat.
    (tmp_path / CHECKPOINT_DIR).mkdir()
    (tmp_path / CHECKPOINT_DIR / FRAME_CLASSIFIER_FILE).write_bytes(b"the best model so far")
    (tmp_path / "training_log.csv").write_text("epoch,accuracy,loss,val_accuracy,val_loss\n0,0.9,0.1,0.9,0.0001\n")
    encoder = build_encoder("custom_cnn", 48, None)
    with pytest.raises(Exception):  # the placeholder is not a model: it was kept, so loading it fails
        train_encoder(config, encoder, build_frame_head(256, len(class_names)), parts["train"], parts["validation"],
                      class_names, tmp_path, fine_tune=False, verbose=0)
    assert (tmp_path / CHECKPOINT_DIR / FRAME_CLASSIFIER_FILE).read_bytes() == b"the best model so far"


def test_problems_are_found_before_anything_is_written(rows_and_split, tmp_path, monkeypatch):
    rows, subsets = rows_and_split
    leaky = subsets.copy()
    leaky[0] = "test" if subsets[0] != "test" else "train"
    with pytest.raises(LeakageError):
        train_run(tiny_config(), rows, leaky, tmp_path / "leaky", progress=False)
    squats = [r for r in rows if r["label"] == "squat"]
    with pytest.raises(DatasetError, match=r"'data/frames' holds one class, 'squat'"):
        train_run(tiny_config(), squats, ["train"] * len(squats), tmp_path / "one", progress=False)

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure")

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr("keras.src.applications.efficientnet.file_utils.get_file", offline)
    with pytest.raises(WeightsUnavailableError):
        train_run(tiny_config("efficientnet_b0"), rows, subsets, tmp_path / "b0", progress=False)
    assert not any((tmp_path / name).exists() for name in ("leaky", "one", "b0"))
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("my notes")
    with pytest.raises(RunError, match="not a run folder"):
        train_run(tiny_config(), rows, subsets, tmp_path / "mine", overwrite=True, progress=False)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "my notes"
