"""Usage events: recorded without blocking the request, written to the store in batches.

Every request that presented a valid key becomes one `UsageEvent`. Writing each one synchronously
would put a database round trip on every request's path, so `record()` only appends to a buffer
and a background task writes the buffer every `flush_interval_s`. `close()` writes what is left;
the app calls it after uvicorn has drained open streams on shutdown, so no event is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, fields
from typing import Any, cast

from sqlalchemy import Dialect, Table, bindparam, insert, update

from switchyard.store.db import Store
from switchyard.store.tables import ClientKey, UsageEvent

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
            except BaseException:
                self._buffer[:0] = batch
                raise
            return len(batch)

    async def _write(self, batch: list[UsageRecord]) -> None:
        last_used: dict[int, float] = {}
        for record in batch:
            if record.key_id is not None:
                last_used[record.key_id] = max(last_used.get(record.key_id, 0.0), record.created_at)
        async with self._store.sessions() as session:
            connection = await session.connection()
            sql, order = _driver_insert(connection.dialect)
            if connection.dialect.positional:
                rows: list[Any] = [tuple([getattr(r, name) for name in order]) for r in batch]
            else:
                rows = [{name: getattr(r, name) for name in order} for r in batch]
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
