"""A folder in use by one process at a time: an extraction folder, a run folder.

    with folder_lock("data/frames", "extraction"):
        ...   # a second process gets FolderBusyError naming the first

The lock is an advisory `flock` on `<folder>/.lock`, released when the holder
exits, however it exits (a killed process leaves no stale lock). The file
holds the holder's process id and what it does, for the message.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Iterator

from workout_runtime.errors import UserError

LOCK_NAME = ".lock"


class FolderBusyError(UserError, RuntimeError):
    """Another process is using the folder."""


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike, what: str) -> Iterator[None]:
    """Holds `folder` (created if missing) for this process while the block runs.

    Raises:
        FolderBusyError: another process holds it; the message names that process and what it does.
    """
    folder = Path(folder)
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / LOCK_NAME, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise FolderBusyError(f"'{folder}' is in use by {holder}; wait until it ends, or use another folder "
                                  f"(two at once would overwrite each other's files).") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()} ({what})")
        handle.flush()
        yield
    finally:
        handle.close()  # closing releases the lock
        # Work that stopped before writing anything leaves no folder behind.
        if created and [p.name for p in folder.iterdir()] == [LOCK_NAME]:
            (folder / LOCK_NAME).unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                folder.rmdir()
