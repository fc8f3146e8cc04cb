"""Gemini web conversations the gateway can continue, keyed by the digest of a message prefix.

Bounded and expiring (field-notes 9): each row lives `ttl_s` and the table keeps at most
`max_rows`; both are enforced on every write, so no sweeper is needed. A row holds no message
text, only the digest, the account name and the web app's chat metadata (conversation ids).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from switchyard.store.db import Store
from switchyard.store.tables import WebConversation


@dataclass(frozen=True)
class KnownConversation:
    index: int  # the last message (0-based) the conversation already covers
    account: str
    model: str
    metadata: list[Any]


async def find_longest(
    store: Store, digests: Sequence[str], now: float | None = None
) -> KnownConversation | None:
    """The live conversation covering the longest prefix among `digests` (see `prompt.prefix_digests`)."""
    if not digests:
        return None
    now = time.time() if now is None else now
    async with store.sessions() as session:
        rows = (
            await session.scalars(
                select(WebConversation).where(
                    WebConversation.key_hash.in_(list(digests)), WebConversation.expires_at > now
                )
            )
        ).all()
    if not rows:
        return None
    position = {digest: index for index, digest in enumerate(digests)}
    best = max(rows, key=lambda row: position[row.key_hash])
    return KnownConversation(position[best.key_hash], best.account, best.model, list(best.chat_metadata))


async def remember(
    store: Store,
    key_hash: str,
    *,
    account: str,
    model: str,
    metadata: list[Any],
    ttl_s: float,
    max_rows: int,
) -> None:
    """Record (or refresh) a conversation, then drop expired rows and the oldest beyond `max_rows`.

    An upsert: identical chats finishing at once write the same digest, and must not collide.
    """
    now = time.time()
    async with store.sessions() as session:
        insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        changes = {"account": account, "model": model, "chat_metadata": metadata, "expires_at": now + ttl_s}
        await session.execute(
            insert(WebConversation)
            .values(key_hash=key_hash, created_at=now, **changes)
            .on_conflict_do_update(index_elements=["key_hash"], set_=changes)
        )
        await session.execute(delete(WebConversation).where(WebConversation.expires_at <= now))
        await session.flush()
        count = await session.scalar(select(func.count()).select_from(WebConversation)) or 0
        if count > max_rows:
            oldest = (
                select(WebConversation.key_hash).order_by(WebConversation.expires_at).limit(count - max_rows)
            )
            await session.execute(delete(WebConversation).where(WebConversation.key_hash.in_(oldest)))
        await session.commit()


async def forget_account(store: Store, account: str) -> None:
    """Conversations of an account that died cannot be continued anywhere."""
    async with store.sessions() as session:
        await session.execute(delete(WebConversation).where(WebConversation.account == account))
        await session.commit()
