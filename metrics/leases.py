"""Locks on object storage: leases, behind the same `Store.lock`/`try_lock` as flock
(metrics/locks.py hands S3 paths here).

There is no flock across machines, so a lock is an object created with a conditional put
(`If-None-Match: *`): of several processes, on any machines, exactly one creates it. The
holder renews it (a conditional overwrite, `If-Match` its last ETag) every third of its
term while it holds it and deletes it when done. A holder killed with -9 stops renewing, and
its lease lapses: a waiter takes an object over (again with `If-Match`, so only one waiter
wins) once the object's age by the server's own clock (its Date header against the object's
Last-Modified), or the time the waiter has watched it unchanged, exceeds the term. So no two
machines' clocks are compared, and the app's clock (GOVDASH_NOW) is not involved: a lease is
about real elapsed time. Within a process the lock is exclusive across threads and
re-entrant in its thread, as the file locks are.

Delta's own commits do not rely on these leases: each is a conditional put of its log entry
(deltalake 1.x), so a holder whose lease was lost (a pause longer than the term) cannot
corrupt a table; at worst two writers' derived work overlaps, which recovery settles.
"""

from __future__ import annotations

import json
import logging
import os
import random
import socket
import threading
import time
import uuid
from typing import Any

from metrics.location import S3Path, s3_client

log = logging.getLogger(__name__)

DEFAULT_TERM = 60.0  # seconds; longer than any pause of a renewing holder
POLL = (0.1, 1.0)  # first and longest wait between tries (each waiter's requests are load)


def term() -> float:
    """A lease's term in seconds (GOVDASH_LEASE_SECONDS; tests shorten it)."""
    return float(os.environ.get("GOVDASH_LEASE_SECONDS") or DEFAULT_TERM)


def _code(exc: Exception) -> str:
    response: dict[str, Any] = getattr(exc, "response", {}) or {}
    return str(response.get("Error", {}).get("Code", ""))


_LOST = ("PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey", "404", "409", "412")


class Lease:
    def __init__(self, path: S3Path) -> None:
        self.path = path
        self.mutex = threading.RLock()
        self.depth = 0
        self.etag: str | None = None
        self.stop = threading.Event()
        self.renewer: threading.Thread | None = None

    # -- one process's view ------------------------------------------------------------
    def acquire(self, wait: bool) -> bool:
        if not self.mutex.acquire(blocking=wait):
            return False
        if self.depth == 0:
            try:
                taken = self._take(wait)
            except BaseException:
                self.mutex.release()
                raise
            if not taken:
                self.mutex.release()
                return False
            self.stop.clear()
            self.renewer = threading.Thread(target=self._renew, daemon=True, name="lease")
            self.renewer.start()
        self.depth += 1
        return True

    def release(self) -> None:
        self.depth -= 1
        if self.depth == 0:
            self.stop.set()
            if self.renewer is not None:
                self.renewer.join()
                self.renewer = None
            self._delete()
        self.mutex.release()

    # -- the object ----------------------------------------------------------------------
    def _body(self) -> bytes:
        owner = f"{socket.gethostname()}:{os.getpid()}"
        # A fresh token each time: the ETag (an MD5 of the body) changes on every renewal.
        return json.dumps({"owner": owner, "token": uuid.uuid4().hex, "term": term()}).encode()

    def _put(self, **condition: str) -> bool:
        try:
            reply = s3_client().put_object(
                Bucket=self.path.bucket, Key=self.path.key, Body=self._body(), **condition
            )
        except Exception as exc:
            if _code(exc) in _LOST:
                return False
            raise
        self.etag = str(reply["ETag"])
        return True

    def _take(self, wait: bool) -> bool:
        watched: tuple[str, float] | None = None  # (ETag, when first seen unchanged)
        pause = POLL[0]
        while True:
            if self._put(IfNoneMatch="*"):
                return True
            seen = self._look()
            if seen is not None:
                etag, age = seen
                if watched is None or watched[0] != etag:
                    watched = (etag, time.monotonic())
                lapsed = max(age, time.monotonic() - watched[1]) > term()
                if lapsed and self._put(IfMatch=etag):
                    log.warning("lease %s lapsed (its holder stopped): taken over", self.path)
                    return True
            if not wait:
                return False
            time.sleep(pause * random.uniform(0.5, 1.0))  # jitter: waiters do not march
            pause = min(pause * 1.5, POLL[1])

    def _look(self) -> tuple[str, float] | None:
        """The lease's ETag and its age by the server's clock; None if it is gone."""
        try:
            head = s3_client().head_object(Bucket=self.path.bucket, Key=self.path.key)
        except Exception as exc:
            if _code(exc) in _LOST:
                return None
            raise
        age = 0.0
        served = head.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
        if served and head.get("LastModified") is not None:
            from email.utils import parsedate_to_datetime

            age = (parsedate_to_datetime(served) - head["LastModified"]).total_seconds()
        return str(head["ETag"]), age

    def _renew(self) -> None:
        while not self.stop.wait(term() / 3):
            etag = self.etag
            try:
                renewed = etag is not None and self._put(IfMatch=etag)
            except Exception:
                log.exception("lease %s: renewal failed, retrying", self.path)
                continue
            if not renewed:
                log.error("lease %s was lost while held (a pause beyond its term)", self.path)
                return

    def _delete(self) -> None:
        if self.etag is None:
            return
        try:
            s3_client().delete_object(Bucket=self.path.bucket, Key=self.path.key, IfMatch=self.etag)
        except Exception as exc:
            if _code(exc) not in _LOST:
                log.exception("lease %s: not released, it lapses after its term", self.path)
        self.etag = None


_LEASES: dict[str, Lease] = {}
_GUARD = threading.Lock()


def lease_for(path: S3Path) -> Lease:
    with _GUARD:
        return _LEASES.setdefault(str(path), Lease(path))
