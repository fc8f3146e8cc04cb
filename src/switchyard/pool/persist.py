"""What the pool keeps in the store (`account_model_state`), so a restart honours it and
`switchyard accounts list` (another process) shows it: cooldowns and their reasons, remaining
quota and reset time, the last error, request and token counters per (account, model family).

Counters are added up in memory and written in one transaction per flush (`Counters`), because a
write per request would make the store the gateway's bottleneck under load.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchyard.store.db import Store
from switchyard.store.tables import Account, AccountModelState


@dataclass(frozen=True)
class Quota:
    """Remaining quota fraction (0..1) for an (account, family) and when it resets."""

    remaining: float
    reset_at: float | None

    def effective(self, now: float) -> float:
        """The fraction to rank by: full again once the reset time has passed."""
        if self.reset_at is not None and self.reset_at <= now:
            return 1.0
        return self.remaining


async def _ensure_rows(session: AsyncSession, keys: Iterable[tuple[int, str]]) -> None:
    """Create the missing (account, family) rows; concurrent creators do not collide (upsert)."""
    bind = session.get_bind()
    insert = postgresql_insert if bind.dialect.name == "postgresql" else sqlite_insert
    now = time.time()
    for account_id, family in keys:
        await session.execute(
            insert(AccountModelState)
            .values(account_id=account_id, model=family, requests=0, tokens=0, updated_at=now)
            .on_conflict_do_nothing(index_elements=["account_id", "model"])
        )


def _row(account_id: int, family: str) -> Any:
    return (AccountModelState.account_id == account_id) & (AccountModelState.model == family)


async def save_state(store: Store, account_id: int, family: str, **values: Any) -> None:
    """Set fields of the (account, family) row, creating it when needed."""
    async with store.sessions() as session:
        await _ensure_rows(session, [(account_id, family)])
        await session.execute(
            update(AccountModelState).where(_row(account_id, family)).values(**values, updated_at=time.time())
        )
        await session.commit()


async def save_quotas(store: Store, account_id: int, quotas: dict[str, Quota]) -> None:
    """The quota numbers of one account, every family in one transaction."""
    async with store.sessions() as session:
        await _ensure_rows(session, [(account_id, family) for family in quotas])
        for family, quota in quotas.items():
            await session.execute(
                update(AccountModelState)
                .where(_row(account_id, family))
                .values(
                    quota_remaining=quota.remaining, quota_reset_at=quota.reset_at, updated_at=time.time()
                )
            )
        await session.commit()


async def load_cooldowns(store: Store) -> list[tuple[int, str, float, str]]:
    """(account, family, until, reason) of every cooldown still running."""
    async with store.sessions() as session:
        rows = (
            await session.scalars(
                select(AccountModelState).where(AccountModelState.cooldown_until > time.time())
            )
        ).all()
    return [(r.account_id, r.model, r.cooldown_until or 0.0, r.cooldown_reason or "") for r in rows]


async def load_quotas(store: Store, account_ids: Iterable[int]) -> dict[tuple[int, str], Quota]:
    ids = list(account_ids)
    if not ids:
        return {}
    async with store.sessions() as session:
        rows = (
            await session.scalars(
                select(AccountModelState).where(
                    AccountModelState.account_id.in_(ids), AccountModelState.quota_remaining.is_not(None)
                )
            )
        ).all()
    return {
        (r.account_id, r.model): Quota(r.quota_remaining or 0.0, r.quota_reset_at)
        for r in rows
        if r.quota_remaining is not None
    }


class Counters:
    """Request and token counts per (account, family), buffered until `flush`."""

    def __init__(self) -> None:
        self._pending: dict[tuple[int, str], list[int]] = {}
        self._used_at: dict[int, float] = {}

    def add(self, account_id: int, family: str, *, requests: int = 0, tokens: int = 0) -> None:
        entry = self._pending.setdefault((account_id, family), [0, 0])
        entry[0] += requests
        entry[1] += tokens
        if requests:
            self._used_at[account_id] = time.time()

    async def flush(self, store: Store) -> None:
        """Add the buffered counts to the store; on failure they are kept for the next flush."""
        if not self._pending:
            return
        pending, used_at = self._pending, self._used_at
        self._pending, self._used_at = {}, {}
        try:
            async with store.sessions() as session:
                ids = {account_id for account_id, _ in pending}
                alive = set((await session.scalars(select(Account.id).where(Account.id.in_(ids)))).all())
                live = [(key, counts) for key, counts in pending.items() if key[0] in alive]
                await _ensure_rows(session, [key for key, _ in live])
                for (account_id, family), (requests, tokens) in live:
                    await session.execute(
                        update(AccountModelState)
                        .where(_row(account_id, family))
                        .values(
                            requests=AccountModelState.requests + requests,
                            tokens=AccountModelState.tokens + tokens,
                            updated_at=time.time(),
                        )
                    )
                for account_id, moment in used_at.items():
                    if account_id in alive:
                        await session.execute(
                            update(Account).where(Account.id == account_id).values(last_used_at=moment)
                        )
                await session.commit()
        except BaseException:
            for (account_id, family), (requests, tokens) in pending.items():
                self.add(account_id, family, requests=requests, tokens=tokens)
            self._used_at.update(used_at)
            raise
