"""Usage events: recorded without blocking the request, written to the store in batches.

Every request that presented a valid key becomes one `UsageEvent`. Writing each one synchronously
would put a database round trip on every request's path, so `record()` only appends to a buffer
and a background task writes the buffer every `flush_interval_s`. `close()` writes what is left;
the app calls it after uvicorn has drained open streams on shutdown, so no event is lost.

One bad event must never block the others: text columns are made `storable()` before writing, and
when a batch still fails for anything but an unreachable store, it is written again event by event;
an event that fails on its own is logged (its request id and the driver's error, no values) and
dropped, never retried forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, fields
from typing import Any, cast

from sqlalchemy import Dialect, Table, bindparam, insert, update
from sqlalchemy import exc as sa_exc

from switchyard.store.db import Store
from switchyard.store.tables import ClientKey, UsageEvent
from switchyard.store.text import StorableString, storable

log = logging.getLogger("switchyard.usage")


@dataclass(slots=True)
class UsageRecord:
    created_at: float
    request_id: str
    key_id: int | None
    key_name: str | None
    surface: str
    provider: str
    model: str | None
    account: str | None
    status: int
    error_class: str | None
    stream: bool
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    latency_ms: float
    ttfb_ms: float | None


_FIELDS = tuple(f.name for f in fields(UsageRecord))
_INSERT = insert(cast(Table, UsageEvent.__table__)).values({name: bindparam(name) for name in _FIELDS})
# Rows bypass the column types (below), so text columns are made storable here: name → length.
_TEXT_LENGTHS = {
    column.name: column.type.length
    for column in cast(Table, UsageEvent.__table__).columns
    if isinstance(column.type, StorableString)
}


def _value(record: UsageRecord, name: str) -> Any:
    value = getattr(record, name)
    if name in _TEXT_LENGTHS:
        return storable(value, _TEXT_LENGTHS[name])
    return value


def store_unreachable(error: BaseException) -> bool:
    """The store itself failed (connection, pool, lock), not the data: worth retrying later."""
    if isinstance(error, sa_exc.DBAPIError):
        return error.connection_invalidated or isinstance(
            error, sa_exc.OperationalError | sa_exc.InterfaceError
        )
    return isinstance(error, OSError | TimeoutError | sa_exc.TimeoutError | sa_exc.DisconnectionError)


def _driver_error(error: BaseException) -> str:
    """The driver's error class and first line, without the SQL parameters SQLAlchemy appends."""
    cause = error.orig if isinstance(error, sa_exc.StatementError) and error.orig else error
    lines = str(cause).splitlines()
    return f"{type(cause).__name__}: {lines[0][:200] if lines else ''}"


def _driver_insert(dialect: Dialect) -> tuple[str, tuple[str, ...]]:
    """The INSERT in the driver's own SQL and parameter order (positional or named).

    Rows go to the driver as plain tuples: SQLAlchemy's per-row parameter processing was most of
    the cost of recording a request (docs/benchmarks.md). Every column here is a plain int,
    float, str, bool or None, which both drivers bind natively.
    """
    compiled = _INSERT.compile(dialect=dialect)
    order = tuple(compiled.positiontup or _FIELDS)
    return compiled.string, order


class UsageRecorder:
    """Buffers usage records and writes them in batches."""

    def __init__(self, store: Store, *, flush_interval_s: float = 1.0) -> None:
        self._store = store
        self._interval = flush_interval_s
        self._buffer: list[UsageRecord] = []
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def record(self, record: UsageRecord) -> None:
        self._buffer.append(record)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="usage-flush")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.flush()
            except Exception:
                log.exception("writing usage events failed; will retry")

    async def flush(self) -> int:
        async with self._lock:
            batch, self._buffer = self._buffer, []
            if not batch:
                return 0
            try:
                await self._write(batch)
            except Exception as error:
                if store_unreachable(error):
                    self._buffer[:0] = batch
                    raise
                return await self._write_one_by_one(batch)
            except BaseException:
                self._buffer[:0] = batch
                raise
            return len(batch)

    async def _write_one_by_one(self, batch: list[UsageRecord]) -> int:
        """Write each event alone, dropping those that fail on their own; keep the rest if the
        store becomes unreachable meanwhile."""
        written = 0
        for index, record in enumerate(batch):
            try:
                await self._write([record])
            except Exception as error:
                if store_unreachable(error):
                    self._buffer[:0] = batch[index:]
                    raise
                log.error(
                    "dropped a usage event the store refuses: request %s (%s)",
                    record.request_id,
                    _driver_error(error),
                )
            except BaseException:
                self._buffer[:0] = batch[index:]
                raise
            else:
                written += 1
        return written

    async def _write(self, batch: list[UsageRecord]) -> None:
        last_used: dict[int, float] = {}
        for record in batch:
            if record.key_id is not None:
                last_used[record.key_id] = max(last_used.get(record.key_id, 0.0), record.created_at)
        async with self._store.sessions() as session:
            connection = await session.connection()
            sql, order = _driver_insert(connection.dialect)
            if connection.dialect.positional:
                rows: list[Any] = [tuple([_value(r, name) for name in order]) for r in batch]
            else:
                rows = [{name: _value(r, name) for name in order} for r in batch]
            await connection.exec_driver_sql(sql, rows)
            for key_id, moment in last_used.items():
                await session.execute(
                    update(ClientKey).where(ClientKey.id == key_id).values(last_used_at=moment)
                )
            await session.commit()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        deadline = time.monotonic() + 10
        while self._buffer and time.monotonic() < deadline:
            try:
                await self.flush()
            except Exception:
                log.exception("final usage flush failed; retrying")
                await asyncio.sleep(0.2)
        if self._buffer:
            log.error("dropped %d usage events: the store stayed unwritable", len(self._buffer))
