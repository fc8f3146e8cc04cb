"""The local usage spool: append-only JSON-lines files under `<data dir>/usage-spool/`.

An event is appended (one `write()` to a file opened with O_APPEND) before the last byte of its
response is sent, so it survives the process being killed: the kernel holds the bytes even if the
process dies a microsecond later. (Not fsync'ed: a power cut can still lose the last events — the
price of a syscall instead of a disk flush per request.) The writer seals the open segment and
drains sealed segments into the store; a segment is deleted once its events are in the store.
At startup the segments a dead process left behind are drained like any other.

The segment being written is `flock`ed by its process, so two processes sharing a data dir never
drain each other's open segment; draining takes the same lock. Lines hold no secret (names, ids,
counts; `UsageRecord`), and files are created 0600 all the same.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

from switchyard.ids import new_id
from switchyard.usage.record import UsageRecord, from_line, to_line

log = logging.getLogger("switchyard.usage")
SUFFIX = ".jsonl"


class Spool:
    """One process's open segment, and the sealed segments of all processes sharing the dir."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self._fd: int | None = None
        self._path: Path | None = None
        self.appended = 0
        """Events appended to the open segment."""

    def append(self, record: UsageRecord) -> None:
        if self._fd is None:
            self._open()
        assert self._fd is not None
        os.write(self._fd, to_line(record))
        self.appended += 1

    def _open(self) -> None:
        # Names sort by creation time, so segments drain in the order they were written.
        path = self.directory / f"{time.time_ns():020d}-{os.getpid()}-{new_id()[:8]}{SUFFIX}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self._fd, self._path, self.appended = fd, path, 0

    def seal(self) -> None:
        """Close the open segment (if any): the next append opens a new one."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = self._path = None

    def sealed(self) -> list[Path]:
        return sorted(p for p in self.directory.glob(f"*{SUFFIX}") if p != self._path)

    @contextlib.contextmanager
    def claim(self, path: Path) -> Iterator[list[UsageRecord] | None]:
        """The segment's events while holding its lock; None when another process holds it (it is
        writing or draining it) or it is gone. Delete it with `done()` inside the block."""
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            yield None
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield None
                return
            with os.fdopen(os.dup(fd), "rb") as handle:
                lines = handle.read().splitlines()
            records = [record for line in lines if line.strip() and (record := from_line(line))]
            if len(records) != sum(1 for line in lines if line.strip()):
                log.warning("usage spool %s: skipped lines that are not events (a torn write?)", path.name)
            yield records
        finally:
            os.close(fd)

    @staticmethod
    def done(path: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
