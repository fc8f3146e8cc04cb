"""Writing usage events to the store: in batches, idempotently, one bad event never blocking others.

Every event carries its own `event_id` (unique in the table, migration 0006) and is inserted with
`ON CONFLICT DO NOTHING`: an event delivered twice — replayed from the spool after a crash that
came between the store's commit and the spool's cleanup, or claimed again from the Redis stream —
is written once.

Text columns are made `storable()` before writing, and when a batch still fails for anything but
an unreachable store, it is written again event by event; an event that fails on its own is logged
(its request id and the driver's error, no values) and dropped, never retried forever.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any, cast

from sqlalchemy import Dialect, Table, bindparam, update
from sqlalchemy.dialects import postgresql, sqlite

from switchyard.store.db import Store
from switchyard.store.reachable import describe, store_unreachable
from switchyard.store.tables import ClientKey, UsageEvent
from switchyard.store.text import StorableString, storable
from switchyard.usage.record import FIELDS, UsageRecord

log = logging.getLogger("switchyard.usage")
_TABLE = cast(Table, UsageEvent.__table__)
# Rows bypass the column types (below), so text columns are made storable here: name → length.
_TEXT_LENGTHS = {
    column.name: column.type.length for column in _TABLE.columns if isinstance(column.type, StorableString)
}


def _value(record: UsageRecord, name: str) -> Any:
    value = getattr(record, name)
    if name in _TEXT_LENGTHS:
        return storable(value, _TEXT_LENGTHS[name])
    return value


@cache
def _driver_insert(dialect: Dialect) -> tuple[str, tuple[str, ...]]:
    """The idempotent INSERT in the driver's own SQL and parameter order (positional or named).

    Rows go to the driver as plain tuples: SQLAlchemy's per-row parameter processing was most of
    the cost of recording a request (docs/benchmarks.md). Every column here is a plain int,
    float, str, bool or None, which both drivers bind natively.
    """
    values: dict[str, Any] = {name: bindparam(name) for name in FIELDS}
    module = postgresql if dialect.name == "postgresql" else sqlite
    statement = module.insert(_TABLE).values(values).on_conflict_do_nothing(index_elements=["event_id"])
    compiled = statement.compile(dialect=dialect)
    return compiled.string, tuple(compiled.positiontup or FIELDS)


async def write_batch(store: Store, batch: list[UsageRecord]) -> int:
    """Write `batch`; on an error of the data, event by event, dropping the ones refused. Raises
    only when the store is unreachable (nothing or part written: the caller keeps the batch and
    writes it again; what was written is skipped then). Returns the events written."""
    try:
        await _write(store, batch)
    except Exception as error:
        if store_unreachable(error):
            store.health.failed(error)
            raise
        return await _write_one_by_one(store, batch)
    store.health.ok()
    return len(batch)


async def _write_one_by_one(store: Store, batch: list[UsageRecord]) -> int:
    written = 0
    for record in batch:
        try:
            await _write(store, [record])
        except Exception as error:
            if store_unreachable(error):
                store.health.failed(error)
                raise
            log.error(
                "dropped a usage event the store refuses: request %s (%s)",
                record.request_id,
                describe(error),
            )
        else:
            written += 1
    store.health.ok()
    return written


async def _write(store: Store, batch: list[UsageRecord]) -> None:
    last_used: dict[int, float] = {}
    for record in batch:
        if record.key_id is not None:
            last_used[record.key_id] = max(last_used.get(record.key_id, 0.0), record.created_at)
    async with store.sessions() as session:
        connection = await session.connection()
        sql, order = _driver_insert(connection.dialect)
        if connection.dialect.positional:
            rows: list[Any] = [tuple([_value(r, name) for name in order]) for r in batch]
        else:
            rows = [{name: _value(r, name) for name in order} for r in batch]
        await connection.exec_driver_sql(sql, rows)
        for key_id, moment in last_used.items():
            await session.execute(update(ClientKey).where(ClientKey.id == key_id).values(last_used_at=moment))
        await session.commit()
