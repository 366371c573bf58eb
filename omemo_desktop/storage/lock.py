"""Single-instance lock per data directory.

Two processes writing the same account databases and ratchet states would reuse message keys,
so a second instance must stop before it touches anything. The lock is an advisory
``flock`` (``msvcrt.locking`` on Windows) on ``<data dir>/omemo-desktop.lock``; the operating
system drops it when the process dies, so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import TracebackType
from typing import Final, Self

from omemo_desktop.storage.errors import AnotherInstanceRunning, StorageError

__all__ = ["LOCK_FILE_NAME", "InstanceLock"]

LOCK_FILE_NAME: Final = "omemo-desktop.lock"


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class InstanceLock:
    """Hold the data directory for this process: ``with InstanceLock(data_dir): ...``.

    `acquire` raises `AnotherInstanceRunning` (and changes nothing) when another process holds
    it. The lock file is left in place on release; its presence means nothing on its own.
    """

    def __init__(self, data_dir: str | os.PathLike[str]) -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / LOCK_FILE_NAME
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        if self._fd is not None:
            return
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StorageError(
                f"Cannot create the lock file {self.path}: {exc.strerror}. Check that the data "
                "directory exists and is writable."
            ) from exc
        if not _try_lock(fd):
            os.close(fd)
            raise AnotherInstanceRunning(
                f"Another omemo-desktop is already running with the data directory "
                f"{self.data_dir}. Switch to that window, or quit it first; to run a second "
                "instance, give it a different --data-dir."
            )
        # For people looking at the file: which process holds it.
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor releases the lock

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
