"""Does Keras 3's model.fit train under MultiWorkerMirroredStrategy here? (keras-team/keras#20585)

    python benchmarks/multiworker_check.py
    python benchmarks/multiworker_check.py --smoke   # the same (it is small), written to a temporary folder (CI)

Starts two TensorFlow workers on this machine (TF_CONFIG with two loopback ports), each builds a small Keras
model under `tf.distribute.MultiWorkerMirroredStrategy` and calls `model.fit` on a tiny dataset, as
TensorFlow's multi-worker Keras tutorial does; then the same model trained by a custom loop
(`strategy.run` with a GradientTape), the workaround. Prints, per worker, "ok" with the final loss, or the error.
Results: benchmarks/results/multiworker_check.json (with TensorFlow's and Keras' versions).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

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


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def run_workers(script: str) -> list[dict]:
    ports = free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    workers = []
    for index in range(2):
        env = {**os.environ, "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
               "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
        workers.append(subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True))
    results = []
    for worker in workers:
        try:
            out, err = worker.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            worker.kill()
            out, err = worker.communicate()
            results.append({"ok": False, "error": "timed out after 300 s"})
            continue
        lines = [line[7:] for line in out.splitlines() if line.startswith("RESULT ")]
        results.append(json.loads(lines[-1]) if lines else {"ok": False, "error": err.strip().splitlines()[-1:]})
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true",
                        help="the same check, its report written to a temporary folder (CI)")
    args = parser.parse_args(argv)
    import keras
    import tensorflow as tf

    report = {"tensorflow": tf.__version__, "keras": keras.__version__, "model.fit": run_workers(WORKER),
              "custom training loop (strategy.run)": run_workers(CUSTOM_LOOP)}
    out_path = ROOT / "benchmarks" / "results" / "multiworker_check.json"
    if args.smoke:
        import tempfile

        out_path = Path(tempfile.mkdtemp(prefix="smoke_multiworker_")) / "multiworker_check.json"
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
