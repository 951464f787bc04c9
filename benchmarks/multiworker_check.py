"""Does Keras 3's model.fit train under MultiWorkerMirroredStrategy here? (keras-team/keras#20585)

    python benchmarks/multiworker_check.py
    python benchmarks/multiworker_check.py --smoke   # the same (it is small), written to a temporary folder (CI)

Starts two TensorFlow workers on this machine (TF_CONFIG with two loopback ports), each builds a small Keras
model under `tf.distribute.MultiWorkerMirroredStrategy` and calls `model.fit` on a tiny dataset, as
TensorFlow's multi-worker Keras tutorial does; then the same model trained by a custom loop
(`strategy.run` with a GradientTape), the workaround. Prints, per worker, "ok" with the final loss, or the error. Last, the toolkit's own trainer
(`train_run` with `distribute = "multiworker"`, which trains the encoder through that custom loop): a custom CNN
on synthetic videos (`--videos-per-class`, 8 frames each, 10 epochs), two workers against one process with
`distribute = "none"` on the same data and split, each epoch's training and validation loss side by side.
Results: benchmarks/results/multiworker_check.json (with TensorFlow's and Keras' versions).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

CUSTOM_LOOP = r"""
import json
import numpy as np
import tensorflow as tf
import keras
strategy = tf.distribute.MultiWorkerMirroredStrategy()
with strategy.scope():
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(2)])
    optimizer = keras.optimizers.SGD(0.1)
loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")
x = np.random.default_rng(0).normal(size=(256, 8)).astype("float32")
y = (x[:, 0] > 0).astype("int32")
data = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensor_slices((x, y)).batch(32).repeat())

@tf.function
def step(batch):
    def replica_step(inputs):
        features, labels = inputs
        with tf.GradientTape() as tape:
            loss = loss_fn(labels, model(features, training=True)) / 32.0
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss
    return strategy.reduce(tf.distribute.ReduceOp.MEAN, strategy.run(replica_step, args=(batch,)), axis=None)

try:
    iterator = iter(data)
    for _ in range(8):
        loss = step(next(iterator))
    print("RESULT " + json.dumps({"ok": True, "loss": float(loss)}))
except Exception as error:
    print("RESULT " + json.dumps({"ok": False, "error": f"{type(error).__name__}: {str(error)[:600]}"}))
"""

WORKER = r"""
import json, os, sys
import numpy as np
import tensorflow as tf
import keras
strategy = tf.distribute.MultiWorkerMirroredStrategy()
with strategy.scope():
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
x = np.random.default_rng(0).normal(size=(256, 8)).astype("float32")
y = (x[:, 0] > 0).astype("int32")
data = tf.data.Dataset.from_tensor_slices((x, y)).batch(32).repeat()
try:
    history = model.fit(data, epochs=2, steps_per_epoch=4, verbose=0)
    print("RESULT " + json.dumps({"ok": True, "loss": float(history.history["loss"][-1])}))
except Exception as error:
    print("RESULT " + json.dumps({"ok": False, "error": f"{type(error).__name__}: {str(error)[:600]}"}))
"""


TRAINER = r"""
import csv, json, sys
from toolkit.config import Config
from toolkit.data.manifest import read_manifest
from toolkit.data.splits import split_manifest
from toolkit.training.trainer import train_run
frames, out, distribute = sys.argv[1:4]
rows = read_manifest(frames)
config = Config(model_name="custom_cnn", image_size=64, frames_per_video=8, epochs=10, head_epochs=5, batch_size=8,
                early_stopping_patience=10, distribute=distribute, calibration_folds=0, test_fraction=0.0,
                validation_fraction=0.25, seed=0).validate()
trained = train_run(config, rows, split_manifest(rows, 0.25, 0.0, seed=0), out, aggregators=("vote",),
                    progress=False, log=lambda _: None)
log = f"{trained.run_dir}/training_log.csv"
try:
    epochs = [{k: float(v) for k, v in r.items() if k != "epoch"} for r in csv.DictReader(open(log))]
except FileNotFoundError:
    epochs = []  # a worker other than the chief keeps no log
print("RESULT " + json.dumps({"ok": True, "epochs": epochs}))
"""


def compare_trainer(work: Path, videos_per_class: int) -> dict:
    """The toolkit's trainer on 2 workers (multiworker) against 1 process, same data and split."""
    from smoke import tiny_frames, tiny_videos

    frames = tiny_frames(work / "frames", tiny_videos(work / "videos", ("squat", "push_up", "jumping_jack"),
                                                      videos_per_class, seconds=3.0), 8)
    one = subprocess.run([sys.executable, "-c", TRAINER, str(frames), str(work / "one"), "none"], cwd=ROOT,
                         capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    lines = [line[7:] for line in one.stdout.splitlines() if line.startswith("RESULT ")]
    single = json.loads(lines[-1]) if lines else {"ok": False, "error": one.stderr.strip().splitlines()[-1:]}
    workers = run_workers(TRAINER, [str(frames), str(work / "two"), "multiworker"], timeout=900)
    return {"videos": 3 * videos_per_class, "one process": single, "two workers (chief)": workers[0],
            "two workers (other)": {k: v for k, v in workers[1].items() if k != "epochs"}}


def run_workers(script: str, args: list[str] = (), timeout: int = 300) -> list[dict]:
    from toolkit.training.distribute import local_cluster

    workers = []
    for tf_config in local_cluster(2):
        env = {**os.environ, "TF_CONFIG": tf_config, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
        workers.append(subprocess.Popen([sys.executable, "-c", script, *args], env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, cwd=ROOT))
    results = []
    for worker in workers:
        try:
            out, err = worker.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            worker.kill()
            out, err = worker.communicate()
            results.append({"ok": False, "error": f"timed out after {timeout} s"})
            continue
        lines = [line[7:] for line in out.splitlines() if line.startswith("RESULT ")]
        results.append(json.loads(lines[-1]) if lines else {"ok": False, "error": err.strip().splitlines()[-1:]})
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true",
                        help="the same checks on 2 videos per class, the report written to a temporary folder (CI)")
    parser.add_argument("--videos-per-class", type=int, default=8, help="the trainer comparison's synthetic videos")
    args = parser.parse_args(argv)
    import tempfile

    import keras
    import tensorflow as tf

    work = Path(tempfile.mkdtemp(prefix="multiworker_"))
    if args.smoke:
        args.videos_per_class = 2
    report = {"tensorflow": tf.__version__, "keras": keras.__version__, "model.fit": run_workers(WORKER),
              "custom training loop (strategy.run)": run_workers(CUSTOM_LOOP),
              "toolkit trainer": compare_trainer(work, args.videos_per_class)}
    out_path = work / "multiworker_check.json" if args.smoke else ROOT / "benchmarks" / "results" / \
        "multiworker_check.json"
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
