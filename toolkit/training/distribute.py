"""Training under tf.distribute: one strategy for everything a run trains.

`config.distribute` is "none" (TensorFlow's default strategy: one device),
"mirrored" (`MirroredStrategy` over every local GPU, or the CPU when there is
none), or "mirrored:<device>,<device>" to name the devices, e.g.
"mirrored:/gpu:0,/gpu:1", or "mirrored:/cpu:0,/cpu:1" on a machine whose CPU
was split into logical devices (how the tests check it without GPUs); or
"multiworker" (`MultiWorkerMirroredStrategy` over the machines that TF_CONFIG
names: start the same command on every one). Keras 3's `model.fit` fails under
MultiWorkerMirroredStrategy (keras-team/keras#20585), so an encoder trains
there through a custom loop (`toolkit.training.encoder_training`); the chief
(worker 0) writes the run, the others a temporary folder.
Variables of the models a run trains are created under the strategy's scope
and each step's batch is split over the replicas, so `batch_size` is the
per-replica batch and the global batch is `batch_size x replicas`.
"""

from __future__ import annotations

import json
import os

import tensorflow as tf

from toolkit.errors import UserError


class DistributeError(UserError, ValueError):
    """A `distribute` setting that cannot be honoured here."""


def parse_distribute(value: str) -> tuple[str, list[str] | None]:
    """("none" | "mirrored", devices or None) from a config value; raises DistributeError."""
    kind, _, devices = str(value).partition(":")
    if kind not in ("none", "mirrored", "multiworker") or (kind != "mirrored" and devices):
        raise DistributeError(f"Invalid config field 'distribute'. Received: distribute={value!r}; expected 'none', "
                              f"'mirrored', 'mirrored:<device>,<device>' (e.g. 'mirrored:/gpu:0,/gpu:1') or "
                              f"'multiworker'.")
    return kind, [d.strip() for d in devices.split(",") if d.strip()] or None


def training_strategy(value: str) -> tf.distribute.Strategy:
    """The strategy for `config.distribute`.

    Raises:
        DistributeError: a named device does not exist, listing the ones that do.
    """
    kind, devices = parse_distribute(value)
    if kind == "none":
        return tf.distribute.get_strategy()
    if kind == "multiworker":
        cluster_task()
        return tf.distribute.MultiWorkerMirroredStrategy()
    if devices:
        known = {_short(d.name) for d in tf.config.list_logical_devices()}
        missing = [d for d in devices if _short(d) not in known]
        if missing:
            raise DistributeError(f"Devices {missing} named in distribute={value!r} do not exist here; the logical "
                                  f"devices are {sorted(known)}.")
    return tf.distribute.MirroredStrategy(devices)


def _short(device: str) -> str:
    """"/job:localhost/replica:0/task:0/device:CPU:0", "/device:CPU:0" and "/cpu:0" all become "cpu:0"."""
    return device.lower().rsplit("/", 1)[-1].removeprefix("device:")


TF_CONFIG_EXAMPLE = ('{"cluster": {"worker": ["host0:12345", "host1:12345"]}, '
                     '"task": {"type": "worker", "index": 0}}')


def cluster_task() -> tuple[dict, dict]:
    """(cluster, task) from TF_CONFIG, checked.

    Raises:
        DistributeError: TF_CONFIG unset, not JSON, or without a cluster and this machine's task.
    """
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise DistributeError(f"distribute='multiworker' reads the machines from TF_CONFIG, which is not set. On "
                              f"every machine set it with the same cluster and the machine's own index, e.g. "
                              f"TF_CONFIG='{TF_CONFIG_EXAMPLE}', and start the same command.")
    try:
        parsed = json.loads(raw)
        cluster, task = dict(parsed["cluster"]), dict(parsed["task"])
        int(task["index"]), str(task["type"])
    except (ValueError, KeyError, TypeError):
        raise DistributeError(f"TF_CONFIG is not a cluster and a task. Received: TF_CONFIG={raw!r}; expected e.g. "
                              f"'{TF_CONFIG_EXAMPLE}'.") from None
    return cluster, task


def local_cluster(workers: int) -> list[str]:
    """One TF_CONFIG value per worker for `workers` processes on this machine, on loopback ports free a moment ago:
    to try multi-worker training (or test it) on one machine, start each process with its own value."""
    import socket

    sockets = [socket.socket() for _ in range(workers)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    cluster = {"worker": [f"127.0.0.1:{s.getsockname()[1]}" for s in sockets]}
    for s in sockets:
        s.close()
    return [json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}) for i in range(workers)]


def is_multiworker(strategy: tf.distribute.Strategy) -> bool:
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the run: always on one machine; under multiworker, the chief or worker 0."""
    if not is_multiworker(strategy):
        return True
    cluster, task = cluster_task()
    if "chief" in cluster:
        return task["type"] == "chief"
    return task["type"] == "worker" and int(task["index"]) == 0


def replicas(strategy: tf.distribute.Strategy) -> int:
    return int(strategy.num_replicas_in_sync)
