"""Reading PyTorch's legacy checkpoint format without torch, allowing nothing but tensors.

A weights file is untrusted input: unpickling runs whatever callables the
stream names. This reader accepts exactly what a plain `state_dict` saved by
`torch.save` in the legacy (non-zip) format needs, and refuses any other
global with `UnsafeCheckpointError`:

* `collections.OrderedDict` (the state dict and its `_metadata`);
* `torch._utils._rebuild_tensor_v2` (a view of a storage);
* the storage types `torch.FloatStorage`, `torch.DoubleStorage`,
  `torch.HalfStorage`, `torch.LongStorage`, `torch.IntStorage`,
  `torch.ByteStorage` (dtype markers only).

Layout of the legacy format (torch/serialization.py, `_legacy_save`): five
pickles, namely the magic number, the protocol version (1001), system info,
the state dict with storages as persistent ids, and the list of storage keys;
then each storage's raw bytes in that order, each preceded by its element
count as a little-endian int64.
"""

from __future__ import annotations

import collections
import io
import os
import pickle
from pathlib import Path

import numpy as np

from toolkit.errors import UserError

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001
_STORAGE_DTYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
                   "LongStorage": np.int64, "IntStorage": np.int32, "ByteStorage": np.uint8}


class UnsafeCheckpointError(UserError, ValueError):
    """The file is not a plain legacy PyTorch state dict, or names a callable we do not allow."""


class _StorageType:
    def __init__(self, name: str):
        self.name = name
        self.dtype = np.dtype(_STORAGE_DTYPES[name])


class _Storage:
    """A storage placeholder: filled with the raw bytes once the pickles are read."""

    def __init__(self, key: str, storage_type: _StorageType, size: int):
        self.key, self.dtype, self.size = key, storage_type.dtype, int(size)
        self.data: np.ndarray | None = None


class _TensorRef:
    """A tensor as the pickle describes it: a strided view of a storage."""

    def __init__(self, storage: _Storage, offset: int, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, int(offset), tuple(size), tuple(stride)

    def to_numpy(self) -> np.ndarray:
        data = self.storage.data
        if data is None:
            raise UnsafeCheckpointError(f"storage {self.storage.key} was never filled")
        if not self.size:
            return data[self.offset].copy()
        extent = self.offset + sum((s - 1) * st for s, st in zip(self.size, self.stride)) + 1
        if extent > len(data):
            raise UnsafeCheckpointError(f"a tensor reads past the end of storage {self.storage.key}")
        view = np.lib.stride_tricks.as_strided(data[self.offset:], self.size,
                                               [st * data.itemsize for st in self.stride])
        return np.ascontiguousarray(view)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                       metadata=None):
    if not isinstance(storage, _Storage):
        raise UnsafeCheckpointError("a tensor was rebuilt from something that is not a storage")
    return _TensorRef(storage, storage_offset, size, stride)


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, stream, storages: dict[str, _Storage]):
        super().__init__(stream)
        self._storages = storages

    def find_class(self, module: str, name: str):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise UnsafeCheckpointError(f"the checkpoint names {module}.{name}, which a plain state dict does not "
                                    f"need; refusing to load it (a weights file can run code when unpickled)")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType)):
            raise UnsafeCheckpointError(f"unexpected persistent id {pid!r:.80}")
        _, storage_type, key, _location, size = pid[:5]
        if key not in self._storages:
            self._storages[key] = _Storage(str(key), storage_type, size)
        return self._storages[key]


def read_legacy_state_dict(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Reads a legacy-format PyTorch `state_dict` file into NumPy arrays, without torch.

    Args:
        path: the `.pth` file.

    Returns:
        {tensor name: array}, in the file's order.

    Raises:
        FileNotFoundError: the file is missing.
        UnsafeCheckpointError: the file is not a legacy PyTorch state dict, is
            cut short, or names anything but the allowed tensor-building globals.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Weights file not found: '{path}'.")
    stream = io.BytesIO(path.read_bytes())
    storages: dict[str, _Storage] = {}
    try:
        magic = _RestrictedUnpickler(stream, storages).load()
        if magic != LEGACY_MAGIC:
            raise UnsafeCheckpointError("it does not start with PyTorch's legacy magic number (a zip-format "
                                        "checkpoint or another file)")
        protocol = _RestrictedUnpickler(stream, storages).load()
        if protocol != LEGACY_PROTOCOL:
            raise UnsafeCheckpointError(f"unsupported protocol version {protocol!r}")
        info = _RestrictedUnpickler(stream, storages).load()
        if not isinstance(info, dict) or not info.get("little_endian", False):
            raise UnsafeCheckpointError("only little-endian checkpoints are supported")
        state = _RestrictedUnpickler(stream, storages).load()
        keys = _RestrictedUnpickler(stream, storages).load()
    except UnsafeCheckpointError as error:
        raise UnsafeCheckpointError(f"Refusing '{path}': {error}.") from None
    except (pickle.UnpicklingError, EOFError, AttributeError, TypeError, ValueError, IndexError) as error:
        raise UnsafeCheckpointError(f"'{path}' is not a readable legacy PyTorch checkpoint "
                                    f"({type(error).__name__}: {error}).") from None
    if not isinstance(state, dict) or not isinstance(keys, list):
        raise UnsafeCheckpointError(f"'{path}' does not hold a state dict.")
    for key in keys:
        storage = storages.get(key)
        if storage is None:
            raise UnsafeCheckpointError(f"'{path}' lists storage {key!r} that no tensor uses.")
        header = stream.read(8)
        if len(header) < 8:
            raise UnsafeCheckpointError(f"'{path}' ends before storage {key!r} (file cut short).")
        count = int.from_bytes(header, "little", signed=True)
        raw = stream.read(count * storage.dtype.itemsize)
        if count < 0 or len(raw) < count * storage.dtype.itemsize:
            raise UnsafeCheckpointError(f"'{path}' ends inside storage {key!r} (file cut short).")
        storage.data = np.frombuffer(raw, dtype=storage.dtype.newbyteorder("<"))
    return {name: value.to_numpy() for name, value in state.items() if isinstance(value, _TensorRef)}
