"""Locks between processes and threads, behind `Store.lock` (one place to swap them, for
leases on object storage).

On a local path a lock is a file locked with flock: exclusive across processes, released by
the kernel when its holder dies (so a kill -9 never leaves a store locked). Within a process
it is also exclusive across threads (the app serves every session from one process) and
re-entrant in the thread that holds it: a write that holds its dataset's lock may call
another that takes the same lock (an upload's check-and-commit around the store's commit).
On S3 a lock is a lease object with the same behaviour: metrics/leases.py.
"""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from metrics import leases
from metrics.location import Location, S3Path


class _FileLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.mutex = threading.RLock()
        self.depth = 0
        self.handle: IO[str] | None = None

    def acquire(self, wait: bool) -> bool:
        if not self.mutex.acquire(blocking=wait):
            return False
        if self.depth == 0:
            handle = open(self.path, "a")  # noqa: SIM115 (held open until release)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                handle.close()
                self.mutex.release()
                return False
            except BaseException:
                handle.close()
                self.mutex.release()
                raise
            self.handle = handle
        self.depth += 1
        return True

    def release(self) -> None:
        self.depth -= 1
        if self.depth == 0 and self.handle is not None:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None
        self.mutex.release()


_LOCKS: dict[Path, _FileLock] = {}
_GUARD = threading.Lock()


def _lock_for(path: Location) -> _FileLock | leases.Lease:
    if isinstance(path, S3Path):  # no flock across machines: a lease object
        return leases.lease_for(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = path.resolve()
    with _GUARD:
        return _LOCKS.setdefault(key, _FileLock(key))


@contextmanager
def held(path: Location) -> Iterator[None]:
    """Hold the lock at `path`, waiting for it."""
    lock = _lock_for(path)
    lock.acquire(wait=True)
    try:
        yield
    finally:
        lock.release()


@contextmanager
def held_if_free(path: Location) -> Iterator[bool]:
    """Hold the lock at `path` if nobody else does; yields whether it is held."""
    lock = _lock_for(path)
    got = lock.acquire(wait=False)
    try:
        yield got
    finally:
        if got:
            lock.release()
