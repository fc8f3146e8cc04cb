"""Key administration shared by the CLI and the admin API: create, list, enable/disable, delete, edit.

A key is shown once, at creation; the store keeps only its SHA-256 (keys are 192 random bits, so a
fast hash is enough) and a fingerprint of its last four characters for people to recognise it.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import func, select

from switchyard.keys.limits import Quota, period_bounds
from switchyard.store.db import Store
from switchyard.store.tables import ClientKey, UsageEvent

KEY_PREFIX = "sk-sy-"


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(24)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def fingerprint(secret: str) -> str:
    """What people see instead of a secret: its last four characters."""
    return "…" + secret[-4:]


@dataclass
class KeyLimits:
    """The optional limits of a key; None means unlimited."""

    expires_at: float | None = None
    models: list[str] | None = None
    rpm: int | None = None
    max_concurrent: int | None = None
    quota_requests: Quota | None = None
    quota_tokens: Quota | None = None

    def describe(self) -> str:
        parts = []
        if self.models:
            parts.append("models " + ",".join(self.models))
        if self.rpm:
            parts.append(f"{self.rpm} rpm")
        if self.max_concurrent:
            parts.append(f"{self.max_concurrent} concurrent")
        if self.quota_requests:
            parts.append(f"{self.quota_requests} requests")
        if self.quota_tokens:
            parts.append(f"{self.quota_tokens} tokens")
        return "; ".join(parts) or "unlimited"


@dataclass
class KeyUsage:
    requests_total: int = 0
    requests_in_period: int | None = None
    tokens_total: int = 0
    tokens_in_period: int | None = None


@dataclass
class KeyPublic:
    """A key as operators see it: never the key itself."""

    id: int
    name: str
    fingerprint: str
    enabled: bool
    created_at: float
    last_used_at: float | None
    limits: KeyLimits
    usage: KeyUsage = field(default_factory=KeyUsage)

    @property
    def expired(self) -> bool:
        return self.limits.expires_at is not None and self.limits.expires_at <= time.time()

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["limits"]["quota_requests"] = (
            str(self.limits.quota_requests) if self.limits.quota_requests else None
        )
        data["limits"]["quota_tokens"] = str(self.limits.quota_tokens) if self.limits.quota_tokens else None
        data["expired"] = self.expired
        return data


class KeyNotFound(LookupError):
    pass


class KeyExists(ValueError):
    pass


def limits_of(row: ClientKey) -> KeyLimits:
    return KeyLimits(
        expires_at=row.expires_at,
        models=list(row.models) if row.models else None,
        rpm=row.rpm,
        max_concurrent=row.max_concurrent,
        quota_requests=Quota(row.quota_requests, row.quota_requests_period)  # type: ignore[arg-type]
        if row.quota_requests is not None and row.quota_requests_period
        else None,
        quota_tokens=Quota(row.quota_tokens, row.quota_tokens_period)  # type: ignore[arg-type]
        if row.quota_tokens is not None and row.quota_tokens_period
        else None,
    )


def _apply_limits(row: ClientKey, limits: KeyLimits) -> None:
    row.expires_at = limits.expires_at
    row.models = limits.models or None
    row.rpm = limits.rpm
    row.max_concurrent = limits.max_concurrent
    row.quota_requests = limits.quota_requests.limit if limits.quota_requests else None
    row.quota_requests_period = limits.quota_requests.period if limits.quota_requests else None
    row.quota_tokens = limits.quota_tokens.limit if limits.quota_tokens else None
    row.quota_tokens_period = limits.quota_tokens.period if limits.quota_tokens else None


def _public(row: ClientKey) -> KeyPublic:
    return KeyPublic(
        id=row.id,
        name=row.name,
        fingerprint=row.fingerprint,
        enabled=row.enabled,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        limits=limits_of(row),
    )


MIN_CHOSEN_KEY_LENGTH = 16
_HEADER_SAFE = re.compile(r"[!-~]+")
"""A key travels in an HTTP header: printable ASCII, no spaces."""


async def create_key(
    store: Store, name: str, limits: KeyLimits, *, key: str | None = None
) -> tuple[KeyPublic, str]:
    """Create a key (generated unless `key` is given); returns it once in clear beside its public view."""
    name = name.strip()
    if not name:
        raise ValueError("a key needs a name")
    if key is not None and (len(key) < MIN_CHOSEN_KEY_LENGTH or not _HEADER_SAFE.fullmatch(key)):
        raise ValueError(
            f"a chosen key needs at least {MIN_CHOSEN_KEY_LENGTH} characters, printable ASCII and no spaces"
        )
    key = key or generate_key()
    async with store.sessions() as session:
        if await session.scalar(select(ClientKey.id).where(ClientKey.name == name)) is not None:
            raise KeyExists(f"a key named {name!r} exists already")
        if await session.scalar(select(ClientKey.id).where(ClientKey.key_hash == hash_key(key))) is not None:
            raise KeyExists("another key has that value already; choose a different one")
        row = ClientKey(
            name=name,
            key_hash=hash_key(key),
            fingerprint=fingerprint(key),
            enabled=True,
            created_at=time.time(),
        )
        _apply_limits(row, limits)
        session.add(row)
        await session.commit()
        return _public(row), key


async def _usage(store: Store, key: KeyPublic) -> KeyUsage:
    tokens = UsageEvent.prompt_tokens + UsageEvent.completion_tokens
    async with store.sessions() as session:
        total = (
            await session.execute(
                select(func.count(UsageEvent.id), func.coalesce(func.sum(tokens), 0)).where(
                    UsageEvent.key_id == key.id
                )
            )
        ).one()
        usage = KeyUsage(requests_total=int(total[0]), tokens_total=int(total[1]))
        if key.limits.quota_requests:
            start, _ = period_bounds(key.limits.quota_requests.period)
            usage.requests_in_period = int(
                await session.scalar(
                    select(func.count(UsageEvent.id)).where(
                        UsageEvent.key_id == key.id,
                        UsageEvent.created_at >= start,
                        ~UsageEvent.status.between(400, 498),  # counted as the guard counts (keys/guard.py)
                    )
                )
                or 0
            )
        if key.limits.quota_tokens:
            start, _ = period_bounds(key.limits.quota_tokens.period)
            usage.tokens_in_period = int(
                await session.scalar(
                    select(func.coalesce(func.sum(tokens), 0)).where(
                        UsageEvent.key_id == key.id, UsageEvent.created_at >= start
                    )
                )
                or 0
            )
    return usage


async def list_keys(store: Store, *, with_usage: bool = True) -> list[KeyPublic]:
    async with store.sessions() as session:
        rows = (await session.scalars(select(ClientKey).order_by(ClientKey.name))).all()
    keys = [_public(row) for row in rows]
    if with_usage:
        for key in keys:
            key.usage = await _usage(store, key)
    return keys


async def get_key(store: Store, name: str) -> KeyPublic:
    async with store.sessions() as session:
        row = await session.scalar(select(ClientKey).where(ClientKey.name == name))
        if row is None:
            raise KeyNotFound(f"no key named {name!r}")
    key = _public(row)
    key.usage = await _usage(store, key)
    return key


async def set_enabled(store: Store, name: str, enabled: bool) -> KeyPublic:
    async with store.sessions() as session:
        row = await session.scalar(select(ClientKey).where(ClientKey.name == name))
        if row is None:
            raise KeyNotFound(f"no key named {name!r}")
        row.enabled = enabled
        await session.commit()
        return _public(row)


async def update_limits(store: Store, name: str, limits: KeyLimits) -> KeyPublic:
    async with store.sessions() as session:
        row = await session.scalar(select(ClientKey).where(ClientKey.name == name))
        if row is None:
            raise KeyNotFound(f"no key named {name!r}")
        _apply_limits(row, limits)
        await session.commit()
        return _public(row)


async def delete_key(store: Store, name: str) -> None:
    async with store.sessions() as session:
        row = await session.scalar(select(ClientKey).where(ClientKey.name == name))
        if row is None:
            raise KeyNotFound(f"no key named {name!r}")
        await session.delete(row)
        await session.commit()
