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
    with pytest.raises(ConfigError, match="distribute='multiworker'"):
        Config(distribute="multiworker").validate()


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
