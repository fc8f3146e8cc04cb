"""Stored OpenAI Responses: saved on `store: true`, read for `previous_response_id` and `GET`.

Bounded and expiring (field-notes 9): each row lives `ttl_s`, the table keeps at most `max_rows`,
and both are enforced on every write (no sweeper task). Rows belong to the client key that made
them: another key reads a 404, as if the response did not exist.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import delete, func, select

from switchyard.store.db import Store
from switchyard.store.tables import StoredResponse


async def save(
    store: Store,
    response_id: str,
    *,
    key_id: int | None,
    provider: str,
    record: dict[str, Any],
    ttl_s: float,
    max_rows: int,
) -> None:
    now = time.time()
    async with store.sessions() as session:
        session.add(
            StoredResponse(
                id=response_id,
                key_id=key_id,
                provider=provider,
                record=record,
                created_at=now,
                expires_at=now + ttl_s,
            )
        )
        await session.execute(delete(StoredResponse).where(StoredResponse.expires_at <= now))
        await session.flush()
        count = await session.scalar(select(func.count()).select_from(StoredResponse)) or 0
        if count > max_rows:
            oldest = select(StoredResponse.id).order_by(StoredResponse.created_at).limit(count - max_rows)
            await session.execute(delete(StoredResponse).where(StoredResponse.id.in_(oldest)))
        await session.commit()


async def load(store: Store, response_id: str, *, key_id: int | None, provider: str) -> dict[str, Any] | None:
    """The record saved under `response_id` by this key on this provider, while it lives."""
    async with store.sessions() as session:
        row = await session.get(StoredResponse, response_id)
    if row is None or row.key_id != key_id or row.provider != provider or row.expires_at <= time.time():
        return None
    return dict(row.record)


async def remove(store: Store, response_id: str, *, key_id: int | None, provider: str) -> bool:
    async with store.sessions() as session:
        result = await session.execute(
            delete(StoredResponse).where(
                StoredResponse.id == response_id,
                StoredResponse.key_id == key_id,
                StoredResponse.provider == provider,
            )
        )
        await session.commit()
    return bool(getattr(result, "rowcount", 0))
