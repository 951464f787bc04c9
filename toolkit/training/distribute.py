"""Training under tf.distribute: one strategy for everything a run trains.

`config.distribute` is "none" (TensorFlow's default strategy: one device),
"mirrored" (`MirroredStrategy` over every local GPU, or the CPU when there is
none), or "mirrored:<device>,<device>" to name the devices, e.g.
"mirrored:/gpu:0,/gpu:1", or "mirrored:/cpu:0,/cpu:1" on a machine whose CPU
was split into logical devices (how the tests check it without GPUs).
Variables of the models a run trains are created under the strategy's scope
and each step's batch is split over the replicas, so `batch_size` is the
per-replica batch and the global batch is `batch_size x replicas`.
"""

from __future__ import annotations

import tensorflow as tf

from toolkit.errors import UserError


class DistributeError(UserError, ValueError):
    """A `distribute` setting that cannot be honoured here."""


def parse_distribute(value: str) -> tuple[str, list[str] | None]:
    """("none" | "mirrored", devices or None) from a config value; raises DistributeError."""
    kind, _, devices = str(value).partition(":")
    if kind not in ("none", "mirrored") or (kind == "none" and devices):
        raise DistributeError(f"Invalid config field 'distribute'. Received: distribute={value!r}; expected 'none', "
                              f"'mirrored', or 'mirrored:<device>,<device>' (e.g. 'mirrored:/gpu:0,/gpu:1').")
    return kind, [d.strip() for d in devices.split(",") if d.strip()] or None


def training_strategy(value: str) -> tf.distribute.Strategy:
    """The strategy for `config.distribute`.

    Raises:
        DistributeError: a named device does not exist, listing the ones that do.
    """
    kind, devices = parse_distribute(value)
    if kind == "none":
        return tf.distribute.get_strategy()
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


def replicas(strategy: tf.distribute.Strategy) -> int:
    return int(strategy.num_replicas_in_sync)
