"""Training under tf.distribute: MirroredStrategy over two logical CPU devices gives the accuracy of one device."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from toolkit.config import Config, ConfigError
from toolkit.training.distribute import DistributeError, parse_distribute

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import json, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from toolkit.config import Config
from toolkit.data.manifest import read_manifest
from toolkit.data.splits import split_manifest
from toolkit.training.trainer import train_run
frames, out, distribute = sys.argv[1], sys.argv[2], sys.argv[3]
rows = read_manifest(frames)
subsets = split_manifest(rows, 0.25, 0.25, seed=0)
config = Config(model_name="custom_cnn", image_size=48, frames_per_video=4, epochs=20, head_epochs=30, batch_size=8,
                early_stopping_patience=30, learning_rate=3e-3, lstm_units=16, transformer_units=16, augment=False,
                distribute=distribute, seed=0).validate()
notes = []
trained = train_run(config, rows, subsets, out, aggregators=("vote", "lstm"), progress=False, log=notes.append)
import csv
with open(f"{out}/training_log.csv") as f:
    log = list(csv.DictReader(f))
print(json.dumps({"note": notes[0], "epochs": len(log), "train_accuracy": float(log[-1]["accuracy"]),
                  "train_loss": [float(r["loss"]) for r in log]}))
"""


def test_distribute_values_are_checked():
    assert parse_distribute("mirrored:/cpu:0,/cpu:1") == ("mirrored", ["/cpu:0", "/cpu:1"])
    with pytest.raises(DistributeError, match="'tpu'"):
        parse_distribute("tpu")
    assert Config(distribute="multiworker").validate().distribute == "multiworker"
    with pytest.raises(ConfigError, match="distribute='multiworker:2'"):
        Config(distribute="multiworker:2").validate()


def test_multiworker_without_a_cluster_says_how_to_name_one(monkeypatch):
    from toolkit.training.distribute import training_strategy

    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(DistributeError, match="TF_CONFIG, which is not set.*index"):
        training_strategy("multiworker")
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(DistributeError, match="not a cluster and a task"):
        training_strategy("multiworker")


@pytest.mark.slow
def test_mirrored_training_on_two_logical_cpus_matches_one_device(synthetic_frames, tmp_path):
    results = {}
    for distribute in ("none", "mirrored:/cpu:0,/cpu:1"):
        result = subprocess.run([sys.executable, "-c", SCRIPT, str(synthetic_frames), str(tmp_path / distribute[:4]),
                                 distribute], capture_output=True, text=True, cwd=ROOT, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
        results[distribute] = json.loads(result.stdout.strip().splitlines()[-1])
    assert "2 replicas" in results["mirrored:/cpu:0,/cpu:1"]["note"]
    one, two = results["none"], results["mirrored:/cpu:0,/cpu:1"]
    # The same synthetic run learns its training frames on one device or two, at the same pace (within noise):
    # the global batch is twice the per-replica batch, so two devices take half the steps per epoch.
    assert one["epochs"] == two["epochs"] == 20
    assert one["train_accuracy"] >= 0.9 and two["train_accuracy"] >= 0.9, results
    assert one["train_loss"][-1] < 0.2 * one["train_loss"][0] and two["train_loss"][-1] < 0.2 * two["train_loss"][0]


WORKER = """
import json, sys
import numpy as np
from toolkit.config import Config
from toolkit.data.manifest import read_manifest
from toolkit.data.splits import split_manifest
from toolkit.training.trainer import train_run
frames, out, model_name, distribute = sys.argv[1:5]
rows = [r for r in read_manifest(frames) if r["label"] in ("squat", "push_up", "jumping_jack")]
subsets = split_manifest(rows, 0.25, 0.0, seed=0)
fine_tune = model_name == "efficientnet_lite0"
config = Config(model_name=model_name, weights="imagenet", image_size=48, frames_per_video=4, epochs=3,
                fine_tune_epochs=2 if fine_tune else 0, fine_tune_layers=6, head_epochs=3, batch_size=4,
                early_stopping_patience=5, augment=True, distribute=distribute, calibration_folds=0,
                test_fraction=0.0, seed=0).validate()
notes = []
trained = train_run(config, rows, subsets, out, aggregators=("vote",), progress=False, log=notes.append)
import csv, os
log = f"{trained.run_dir}/training_log.csv"
losses = [float(r["loss"]) for r in csv.DictReader(open(log))] if os.path.isfile(log) else []
weights = float(sum(np.abs(w).sum() for w in trained.encoder.get_weights()))
print(json.dumps({"notes": notes, "run_dir": str(trained.run_dir), "losses": losses, "weights": weights}))
"""


# Two TensorFlow processes training in step take a minute on 2 cores: with the slow tests. The custom loop's
# single-process behaviour is what every fine-tuning test exercises by default.
@pytest.mark.slow
@pytest.mark.parametrize("model_name", ["efficientnet_lite0", "custom_cnn"])
def test_two_workers_on_loopback_train_one_run_through_the_custom_loop(synthetic_frames, tmp_path, model_name):
    import os

    from toolkit.training.distribute import local_cluster

    workers = []
    for tf_config in local_cluster(2):
        env = {**os.environ, "TF_CONFIG": tf_config}
        workers.append(subprocess.Popen([sys.executable, "-c", WORKER, str(synthetic_frames), str(tmp_path / "run"),
                                         model_name, "multiworker"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True))
    ended = []
    for worker in workers:
        try:
            ended.append(worker.communicate(timeout=600))
        finally:
            worker.kill()
    for worker, (_, stderr) in zip(workers, ended):
        assert worker.returncode == 0, "\n".join(err[-2500:] for _, err in ended)
    outputs = [json.loads(stdout.strip().splitlines()[-1]) for stdout, _ in ended]
    chief, other = outputs
    assert chief["run_dir"] == str(tmp_path / "run") and other["run_dir"] != chief["run_dir"]
    assert any("this worker writes to" in note for note in other["notes"])
    assert "2 replicas (multiworker)" in " ".join(chief["notes"])
    # The chief logged the epochs; both workers stepped together and end with the same encoder.
    assert chief["losses"] and not other["losses"]
    assert chief["weights"] == pytest.approx(other["weights"], rel=1e-5)
    assert (tmp_path / "run" / "vote.keras").is_file()


def test_the_custom_loop_learns_logs_and_keeps_its_best_weights_in_one_process(synthetic_frames, tmp_path):
    """The multi-worker loop (`fit_custom_loop`) under the default one-device strategy: the cheap check that runs by
    default while the two-process tests are slow."""
    import csv

    import keras
    import numpy as np
    import tensorflow as tf

    from toolkit.data.manifest import read_manifest
    from toolkit.data.pipeline import make_frame_dataset
    from toolkit.models import build_encoder, build_frame_head
    from toolkit.models.frame_head import build_frame_classifier
    from toolkit.training.encoder_training import fit_custom_loop

    rows = [r for r in read_manifest(synthetic_frames) if r["label"] in ("squat", "push_up")]
    class_names = ["push_up", "squat"]
    config = Config(model_name="custom_cnn", image_size=32, batch_size=8, early_stopping_patience=5, augment=False,
                    seed=0).validate()
    keras.utils.set_random_seed(0)
    encoder = build_encoder("custom_cnn", 32, weights=None)
    model = build_frame_classifier(encoder, build_frame_head(encoder.output_shape[-1], 2, 8, 0.0))
    validation = make_frame_dataset(rows, class_names, 32, 8)
    log, checkpoint = tmp_path / "log.csv", tmp_path / "best.keras"
    fit_custom_loop(model, tf.distribute.get_strategy(), rows, validation, class_names, config, 3e-3, 4, log,
                    checkpoint, None)
    with open(log) as f:
        epochs = list(csv.DictReader(f))
    assert len(epochs) == 4 and checkpoint.is_file()
    losses = [float(e["val_loss"]) for e in epochs]
    assert min(losses) < losses[0] or float(epochs[-1]["loss"]) < float(epochs[0]["loss"]), epochs
    # The weights kept are the best epoch's: the saved checkpoint scores what the model scores.
    saved = keras.models.load_model(checkpoint)
    images = next(iter(validation))[0]
    np.testing.assert_allclose(saved(images, training=False), model(images, training=False), atol=1e-5)
