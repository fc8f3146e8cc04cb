"""The store on SQLite and on PostgreSQL: migrations, keys, accounts (secrets sealed), usage."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select, text

from switchyard.config import Settings
from switchyard.keys import service
from switchyard.keys.limits import Quota
from switchyard.pool import persist
from switchyard.store import accounts
from switchyard.store.db import Store, open_store
from switchyard.store.tables import AccountModelState, ClientKey
from switchyard.usage import UsageRecord, UsageRecorder


def run(settings: Settings, work: Any) -> Any:
    async def go() -> Any:
        store = await open_store(settings)
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(go())


def test_migrations_are_idempotent_and_create_every_table(store_settings: Settings) -> None:
    async def tables(store: Store) -> set[str]:
        async with store.engine.connect() as connection:
            if store.engine.dialect.name == "sqlite":
                rows = await connection.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))
            else:
                rows = await connection.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
                )
            return {row[0] for row in rows}

    first = run(store_settings, tables)
    second = run(store_settings, tables)  # opening again must not fail or change anything
    assert {"client_keys", "accounts", "account_model_state", "usage_events", "alembic_version"} <= first
    assert first == second


def test_keys_are_stored_only_as_hashes(store_settings: Settings) -> None:
    limits = service.KeyLimits(rpm=5, models=["gemini-*"], quota_tokens=Quota(1000, "day"))

    async def work(store: Store) -> tuple[str, ClientKey, list[service.KeyPublic]]:
        _, key = await service.create_key(store, "team-a", limits)
        async with store.sessions() as session:
            row = await session.scalar(select(ClientKey).where(ClientKey.name == "team-a"))
        assert row is not None
        return key, row, await service.list_keys(store)

    key, row, listed = run(store_settings, work)
    assert key.startswith("sk-sy-") and len(key) > 30
    assert row.key_hash == service.hash_key(key) and key not in row.key_hash
    assert row.fingerprint == "…" + key[-4:]
    assert [k.name for k in listed] == ["team-a"]
    assert listed[0].limits.rpm == 5 and listed[0].limits.models == ["gemini-*"]
    assert str(listed[0].limits.quota_tokens) == "1000/day"


def test_duplicate_key_names_are_refused(store_settings: Settings) -> None:
    async def work(store: Store) -> None:
        await service.create_key(store, "dup", service.KeyLimits())
        with pytest.raises(service.KeyExists):
            await service.create_key(store, "dup", service.KeyLimits())

    run(store_settings, work)


def test_account_secrets_are_encrypted_at_rest(store_settings: Settings) -> None:
    refresh_token = "test-refresh-" + "x" * 30 + "TAIL"

    async def work(store: Store) -> Any:
        await accounts.add_account(
            store,
            provider="antigravity",
            name="ag-1",
            secret={"refresh_token": refresh_token},
            project_id="p-1",
        )
        async with store.engine.connect() as connection:
            raw = (await connection.execute(text("SELECT secret FROM accounts"))).scalar_one()
        upstream = await accounts.upstream_account(store, "ag-1")
        listed = await accounts.list_accounts(store)
        return raw, upstream, listed

    raw, upstream, listed = run(store_settings, work)
    assert refresh_token not in raw and "TAIL" not in raw
    assert upstream.secret == {"refresh_token": refresh_token}
    assert listed[0].secret_fingerprint == "…TAIL"
    assert refresh_token not in str(listed[0].to_json()) and refresh_token not in repr(upstream)


def test_first_state_rows_written_at_once_do_not_collide(store_settings: Settings) -> None:
    """A check and the pool's quota refresher may create an account's state rows at the same moment."""

    async def work(store: Store) -> list[AccountModelState]:
        await accounts.add_account(store, provider="antigravity", name="ag-1", secret={"refresh_token": "t"})
        (account,) = await accounts.list_accounts(store)
        writers = [
            persist.save_quotas(
                store,
                account.id,
                {"claude": persist.Quota(share, None), "gemini-pro": persist.Quota(share, 1.0)},
            )
            for share in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
        ]
        writers.append(persist.save_state(store, account.id, "claude", cooldown_reason="rate limited"))
        await asyncio.gather(*writers)
        async with store.sessions() as session:
            return list((await session.scalars(select(AccountModelState))).all())

    rows = run(store_settings, work)
    assert sorted(row.model for row in rows) == ["claude", "gemini-pro"]
    assert all(row.quota_remaining in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8) for row in rows)
    assert next(row for row in rows if row.model == "claude").cooldown_reason == "rate limited"


def test_sqlite_file_holds_no_secret_in_clear(settings: Settings) -> None:
    refresh_token = "plain-refresh-" + "y" * 40

    async def work(store: Store) -> None:
        await accounts.add_account(
            store, provider="antigravity", name="ag", secret={"refresh_token": refresh_token}
        )
        await service.create_key(store, "k", service.KeyLimits())

    run(settings, work)
    db_file = settings.data_dir / "switchyard.db"
    with sqlite3.connect(db_file) as connection:
        connection.execute("PRAGMA wal_checkpoint(FULL)")
    assert refresh_token.encode() not in db_file.read_bytes()
    key_file = settings.data_dir / "secret.key"
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_a_different_secret_key_cannot_open_stored_secrets(settings: Settings) -> None:
    async def add(store: Store) -> None:
        await accounts.add_account(
            store, provider="gemini_web", name="gw", secret={"psid": "cookie-value-1234"}
        )

    run(settings, add)
    other = settings.model_copy(update={"secret_key": SecretStr("another-passphrase")})

    async def read(store: Store) -> None:
        with pytest.raises(ValueError, match="SWITCHYARD_SECRET_KEY"):
            await accounts.upstream_account(store, "gw")

    run(other, read)


def test_usage_events_are_written_in_batches_and_counted(store_settings: Settings) -> None:
    async def work(store: Store) -> service.KeyPublic:
        public, _ = await service.create_key(store, "u", service.KeyLimits(quota_requests=Quota(100, "day")))
        recorder = UsageRecorder(store, flush_interval_s=60)
        for index in range(5):
            recorder.record(
                UsageRecord(
                    created_at=time.time(),
                    request_id=f"r{index}",
                    key_id=public.id,
                    key_name="u",
                    surface="gemini",
                    provider="antigravity",
                    model="gemini-2.5-flash",
                    account="ag-1",
                    status=200,
                    error_class=None,
                    stream=False,
                    prompt_tokens=10,
                    completion_tokens=5,
                    reasoning_tokens=1,
                    latency_ms=12.5,
                    ttfb_ms=3.0,
                )
            )
        await recorder.close()  # the final flush writes what is buffered
        return await service.get_key(store, "u")

    key = run(store_settings, work)
    assert key.usage.requests_total == 5 and key.usage.tokens_total == 75
    assert key.usage.requests_in_period == 5
    assert key.last_used_at is not None
