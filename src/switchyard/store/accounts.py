"""Upstream accounts in the store. Secrets are sealed on the way in and opened only into an
`UpstreamAccount` for a provider; everything operators see (`AccountPublic`) carries a
fingerprint instead."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import select

from switchyard.shared.accounts import UpstreamAccount
from switchyard.store.db import Store
from switchyard.store.tables import Account, AccountModelState

PROVIDERS = ("antigravity", "gemini_web")


WEB_PICKER_META = "gemini_web_picker"


class AccountNotFound(LookupError):
    pass


class AccountExists(ValueError):
    pass


@dataclass
class ModelStatePublic:
    model: str
    cooldown_until: float | None
    cooldown_reason: str | None
    quota_remaining: float | None
    quota_reset_at: float | None
    last_error: str | None
    requests: int
    tokens: int


@dataclass
class AccountPublic:
    id: int
    provider: str
    name: str
    secret_fingerprint: str
    enabled: bool
    status: str
    status_reason: str | None
    status_url: str | None
    project_id: str | None
    email: str | None
    proxy: str | None
    user_agent: str | None
    created_at: float
    last_used_at: float | None
    last_error: str | None
    models: list[ModelStatePublic] = field(default_factory=list)
    web_picker: list[dict[str, Any]] = field(default_factory=list)
    """Gemini web: the account's own model picker as last read (`meta["gemini_web_picker"]`)."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def mask_proxy(url: str | None) -> str | None:
    """A proxy URL without its password, for display."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def validate_proxy(url: str | None) -> str | None:
    if not url:
        return None
    scheme = urlsplit(url).scheme.lower()
    if scheme not in {"http", "https", "socks5", "socks5h"} or not urlsplit(url).hostname:
        raise ValueError(
            f"unsupported proxy {mask_proxy(url)!r}: use http://, https:// or socks5://HOST:PORT"
        )
    return url


MAX_USER_AGENT_CHARS = 300


def validate_user_agent(user_agent: str | None) -> str | None:
    """A User-Agent header value, or None for "use the gateway's setting" (an empty value too)."""
    if user_agent is None or not user_agent.strip():
        return None
    value = user_agent.strip()
    if len(value) > MAX_USER_AGENT_CHARS or not value.isprintable() or not value.isascii():
        raise ValueError(
            f"unusable User-Agent: use printable ASCII on one line, at most {MAX_USER_AGENT_CHARS} characters "
            "(e.g. antigravity/hub/2.11.0 darwin/arm64)"
        )
    return value


def _public(row: Account, states: list[AccountModelState] | None = None) -> AccountPublic:
    return AccountPublic(
        id=row.id,
        provider=row.provider,
        name=row.name,
        secret_fingerprint=row.secret_fingerprint,
        enabled=row.enabled,
        status=row.status,
        status_reason=row.status_reason,
        status_url=row.status_url,
        project_id=row.project_id,
        email=row.email,
        proxy=mask_proxy(row.proxy_url),
        user_agent=row.user_agent,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        last_error=row.last_error,
        web_picker=list((row.meta or {}).get(WEB_PICKER_META) or []),
        models=[
            ModelStatePublic(
                model=s.model,
                cooldown_until=s.cooldown_until,
                cooldown_reason=s.cooldown_reason,
                quota_remaining=s.quota_remaining,
                quota_reset_at=s.quota_reset_at,
                last_error=s.last_error,
                requests=s.requests,
                tokens=s.tokens,
            )
            for s in sorted(states or [], key=lambda s: s.model)
        ],
    )


def _fingerprint(secret: dict[str, str]) -> str:
    main = next(iter(secret.values()), "")
    return "…" + main[-4:] if main else "-"


async def add_account(
    store: Store,
    *,
    provider: str,
    name: str,
    secret: dict[str, str],
    project_id: str | None = None,
    email: str | None = None,
    proxy_url: str | None = None,
    user_agent: str | None = None,
    meta: dict[str, Any] | None = None,
) -> AccountPublic:
    if provider not in PROVIDERS:
        raise ValueError(f"unknown provider {provider!r}; use one of {', '.join(PROVIDERS)}")
    now = time.time()
    async with store.sessions() as session:
        if await session.scalar(select(Account.id).where(Account.name == name)) is not None:
            raise AccountExists(f"an account named {name!r} exists already")
        row = Account(
            provider=provider,
            name=name,
            secret=store.secrets.seal(secret),
            secret_fingerprint=_fingerprint(secret),
            enabled=True,
            status="active",
            project_id=project_id,
            email=email,
            proxy_url=validate_proxy(proxy_url),
            user_agent=validate_user_agent(user_agent),
            meta=meta or {},
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        await session.commit()
        return _public(row)


async def find_by_secret(store: Store, provider: str, key: str, value: str) -> AccountPublic | None:
    """The account of `provider` whose secret field `key` equals `value` (imports skip duplicates)."""
    async with store.sessions() as session:
        rows = (await session.scalars(select(Account).where(Account.provider == provider))).all()
    for row in rows:
        if store.secrets.open(row.secret).get(key) == value:
            return _public(row)
    return None


async def list_accounts(store: Store, provider: str | None = None) -> list[AccountPublic]:
    async with store.sessions() as session:
        query = select(Account).order_by(Account.provider, Account.name)
        if provider:
            query = query.where(Account.provider == provider)
        rows = (await session.scalars(query)).all()
        states = (await session.scalars(select(AccountModelState))).all()
    by_account: dict[int, list[AccountModelState]] = {}
    for state in states:
        by_account.setdefault(state.account_id, []).append(state)
    return [_public(row, by_account.get(row.id)) for row in rows]


async def _row(session: Any, name: str) -> Account:
    row = await session.scalar(select(Account).where(Account.name == name))
    if row is None:
        raise AccountNotFound(f"no account named {name!r}")
    return row


def to_upstream(store: Store, row: Account) -> UpstreamAccount:
    return UpstreamAccount(
        id=row.id,
        name=row.name,
        provider=row.provider,
        secret=store.secrets.open(row.secret),
        project_id=row.project_id,
        email=row.email,
        proxy_url=row.proxy_url,
        user_agent=row.user_agent,
        meta=dict(row.meta or {}),
    )


async def usable_accounts(store: Store, provider: str) -> list[UpstreamAccount]:
    """Enabled accounts whose credential still works (not dead or banned)."""
    async with store.sessions() as session:
        rows = (
            await session.scalars(
                select(Account)
                .where(Account.provider == provider, Account.enabled.is_(True), Account.status == "active")
                .order_by(Account.id)
            )
        ).all()
    return [to_upstream(store, row) for row in rows]


async def upstream_account(store: Store, name: str) -> UpstreamAccount:
    async with store.sessions() as session:
        return to_upstream(store, await _row(session, name))


async def update_account(store: Store, name: str, **changes: Any) -> AccountPublic:
    """Change plain fields (enabled, status, status_reason, project_id, ...) or `secret` (re-sealed)."""
    async with store.sessions() as session:
        row = await _row(session, name)
        if "secret" in changes:
            secret = changes.pop("secret")
            row.secret = store.secrets.seal(secret)
            row.secret_fingerprint = _fingerprint(secret)
        if "proxy_url" in changes:
            changes["proxy_url"] = validate_proxy(changes["proxy_url"])
        if "user_agent" in changes:
            changes["user_agent"] = validate_user_agent(changes["user_agent"])
        for field_name, value in changes.items():
            if not hasattr(Account, field_name):
                raise AttributeError(field_name)
            setattr(row, field_name, value)
        row.updated_at = time.time()
        await session.commit()
        return _public(row)


async def set_meta(store: Store, name: str, key: str, value: Any) -> None:
    """Set one key of the account's `meta` (what was learned about it, not a secret)."""
    async with store.sessions() as session:
        row = await _row(session, name)
        row.meta = {**(row.meta or {}), key: value}
        row.updated_at = time.time()
        await session.commit()


async def delete_account(store: Store, name: str) -> None:
    async with store.sessions() as session:
        row = await _row(session, name)
        await session.delete(row)
        await session.commit()
