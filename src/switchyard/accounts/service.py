"""Account administration shared by the CLI and the admin API: add, enable/disable, delete, check.

Plain async functions over a `Store` (and `Settings` where the upstream is called) that return
dataclasses; nothing here prints. Bulk imports live in `importers`, the OAuth login in `login`.

Secrets go in and never come back out: every result carries the store's fingerprint (last four
characters) and error messages quote upstream error codes, never a token or cookie.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import httpx
from sqlalchemy import select

from switchyard.config import Settings
from switchyard.errors import (
    AccountBanned,
    AccountDead,
    AccountForbidden,
    AccountNeedsVerification,
    SwitchyardError,
    UpstreamError,
)
from switchyard.pool import persist
from switchyard.providers.antigravity import AccountCheck, AntigravityClient, OAuthClientNotConfigured
from switchyard.providers.antigravity.oauth import client_secret
from switchyard.providers.gemini_web.client import GeminiWebProvider
from switchyard.store import accounts as repository
from switchyard.store.accounts import AccountExists, AccountNotFound, AccountPublic
from switchyard.store.db import Store
from switchyard.store.tables import Account

__all__ = [
    "AccountExists",
    "AccountNotFound",
    "CheckResult",
    "DuplicateCredential",
    "FamilyQuota",
    "account_state",
    "add_antigravity",
    "add_gemini_web",
    "check_accounts",
    "delete_account",
    "list_accounts",
    "provider_id",
    "set_enabled",
    "set_user_agent",
]

PROVIDER_IDS = {"antigravity": "antigravity", "gemini-web": "gemini_web", "gemini_web": "gemini_web"}
"""Operators type `gemini-web`; the store says `gemini_web`."""

DISPLAY_NAMES = {"antigravity": "antigravity", "gemini_web": "gemini-web"}
IDENTITY_FIELD = {"antigravity": "refresh_token", "gemini_web": "psid"}
"""The secret field that identifies a credential, for duplicate detection."""

CHECK_CONCURRENCY = 8
"""Checks at once: enough to get through hundreds of accounts quickly without looking like a flood
to Google's token endpoint, which rate-limits per client."""

GEMINI_WEB_NOT_CHECKED = "not checked: no Gemini web provider was given"

list_accounts = repository.list_accounts
log = logging.getLogger(__name__)


class DuplicateCredential(ValueError):
    """The same refresh token or cookie is stored already, under `existing`."""

    def __init__(self, message: str, existing: str) -> None:
        super().__init__(message)
        self.existing = existing


class WrongProvider(ValueError):
    """The change applies to another provider's accounts (the API answers 409)."""


def provider_id(name: str) -> str:
    """The store's provider id for what an operator typed (`gemini-web` → `gemini_web`)."""
    try:
        return PROVIDER_IDS[name.strip().lower()]
    except KeyError:
        raise ValueError(f"unknown provider {name!r}: use antigravity or gemini-web") from None


def display_provider(provider: str) -> str:
    return DISPLAY_NAMES.get(provider, provider)


def account_state(account: AccountPublic) -> str:
    """One word for people: a dead or forbidden credential matters more than the enabled switch."""
    if account.status != "active":
        return account.status
    return "active" if account.enabled else "disabled"


# --- names ------------------------------------------------------------------------------------


def name_prefix(provider: str) -> str:
    return display_provider(provider)


def next_free_name(prefix: str, taken: set[str]) -> str:
    """`prefix-N` for the smallest N ≥ 1 not taken: names people can type and remember."""
    number = 1
    while f"{prefix}-{number}" in taken:
        number += 1
    return f"{prefix}-{number}"


def unique_name(base: str, taken: set[str]) -> str:
    """`base`, or `base-2`, `base-3`, ... when an account already has it."""
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def name_for(provider: str, email: str | None, taken: set[str]) -> str:
    """`antigravity-<local part of the email>` when there is an email, else `antigravity-N`."""
    local = re.sub(r"[^a-z0-9._-]+", "-", (email or "").split("@")[0].lower()).strip("-.")
    if not local:
        return next_free_name(name_prefix(provider), taken)
    return unique_name(f"{name_prefix(provider)}-{local}", taken)


async def taken_names(store: Store) -> set[str]:
    async with store.sessions() as session:
        return set((await session.scalars(select(Account.name))).all())


async def credential_index(store: Store, provider: str) -> dict[str, str]:
    """Identity field value → account name, for every stored account of `provider`.

    Imports check each entry against this instead of calling `find_by_secret` per entry, which
    decrypts every stored secret each time: with a few thousand accounts (field notes §9 saw 2,767
    auth files in one CLIProxyAPI install) that would be millions of decryptions.
    """
    key = IDENTITY_FIELD[provider]
    async with store.sessions() as session:
        rows = (
            await session.execute(select(Account.name, Account.secret).where(Account.provider == provider))
        ).all()
    index: dict[str, str] = {}
    for name, sealed in rows:
        value = store.secrets.open(sealed).get(key)
        if value:
            index[value] = name
    return index


# --- add, enable, disable, delete ---------------------------------------------------------------


def _clean(value: str | None, what: str) -> str:
    cleaned = (value or "").strip()
    if not cleaned:
        raise ValueError(f"the {what} is empty")
    if any(ch.isspace() for ch in cleaned):
        raise ValueError(f"the {what} contains whitespace; copy it again without line breaks")
    if not (cleaned.isascii() and cleaned.isprintable()):
        raise ValueError(f"the {what} has characters no credential has (it is printable ASCII)")
    return cleaned


async def _refuse_duplicate(store: Store, provider: str, value: str, what: str) -> None:
    existing = await repository.find_by_secret(store, provider, IDENTITY_FIELD[provider], value)
    if existing is not None:
        raise DuplicateCredential(
            f"that {what} is already stored as account {existing.name!r}", existing.name
        )


async def add_antigravity(
    store: Store,
    *,
    refresh_token: str,
    project_id: str | None = None,
    name: str | None = None,
    proxy_url: str | None = None,
    email: str | None = None,
    user_agent: str | None = None,
) -> AccountPublic:
    """Store an Antigravity refresh token. No network: `check_accounts` verifies it and finds the project.
    `user_agent` overrides the gateway's `antigravity_user_agent` for this account.

    Raises ValueError (empty token, bad proxy or User-Agent), `DuplicateCredential`, `AccountExists`.
    """
    repository.validate_proxy(proxy_url)
    repository.validate_user_agent(user_agent)
    token = _clean(refresh_token, "refresh token")
    await _refuse_duplicate(store, "antigravity", token, "refresh token")
    chosen = name.strip() if name else name_for("antigravity", email, await taken_names(store))
    return await repository.add_account(
        store,
        provider="antigravity",
        name=chosen,
        secret={"refresh_token": token},
        project_id=(project_id or "").strip() or None,
        email=email,
        proxy_url=proxy_url,
        user_agent=user_agent,
    )


async def set_user_agent(store: Store, name: str, user_agent: str | None) -> AccountPublic:
    """Give an Antigravity account its own User-Agent, or (None or empty) go back to the setting.

    A CLI-style UA clears VALIDATION_REQUIRED on some accounts and a newer Hub version serves the
    newest models (protocols §12.3). Raises AccountNotFound, or ValueError for another provider or
    an unusable value."""
    account = await get_account(store, name)
    if account.provider != "antigravity":
        raise WrongProvider(
            f"account {name!r} is a {display_provider(account.provider)} account; only "
            "Antigravity accounts send a User-Agent of their own"
        )
    return await repository.update_account(store, name, user_agent=user_agent)


async def add_gemini_web(
    store: Store,
    *,
    psid: str,
    psidts: str | None = None,
    name: str | None = None,
    proxy_url: str | None = None,
    email: str | None = None,
) -> AccountPublic:
    """Store Gemini web cookies (`__Secure-1PSID`, optional `__Secure-1PSIDTS`); `psidts` may be empty
    for accounts that lack it (protocols/gemini-web.md §1.1)."""
    repository.validate_proxy(proxy_url)
    cookie = _clean(psid, "__Secure-1PSID cookie")
    timestamp_cookie = _clean(psidts, "__Secure-1PSIDTS cookie") if psidts and psidts.strip() else ""
    await _refuse_duplicate(store, "gemini_web", cookie, "__Secure-1PSID cookie")
    chosen = name.strip() if name else name_for("gemini_web", email, await taken_names(store))
    return await repository.add_account(
        store,
        provider="gemini_web",
        name=chosen,
        secret={"psid": cookie, "psidts": timestamp_cookie},
        email=email,
        proxy_url=proxy_url,
    )


async def set_enabled(store: Store, name: str, enabled: bool) -> AccountPublic:
    """Enable or disable. Enabling also clears a `dead`/`forbidden` mark: it is how an operator says
    "I fixed it" (verified the account, appealed a ban); if it is not fixed, the first failing
    request marks it again and is retried on another account before any byte reaches the client."""
    if not enabled:
        return await repository.update_account(store, name, enabled=False)
    return await repository.update_account(
        store, name, enabled=True, status="active", status_reason=None, status_url=None
    )


async def delete_account(store: Store, name: str) -> None:
    """Delete an account and its per-model state (usage history keeps its id)."""
    await repository.delete_account(store, name)


async def get_account(store: Store, name: str) -> AccountPublic:
    for account in await repository.list_accounts(store):
        if account.name == name:
            return account
    raise AccountNotFound(f"no account named {name!r}")


# --- check ------------------------------------------------------------------------------------

CheckOutcome = Literal["ok", "error", "dead", "forbidden", "verification", "skipped"]


@dataclass
class FamilyQuota:
    """Remaining quota of one model family (the lowest of its models), as a fraction 0..1."""

    family: str
    remaining_fraction: float
    reset_at: float | None


@dataclass
class CheckResult:
    """What checking one account found; `outcome` is `ok`, `skipped` or a failure."""

    name: str
    provider: str
    outcome: CheckOutcome
    message: str
    project_id: str | None = None
    project_discovered: bool = False
    tier_id: str | None = None
    token_expires_at: float | None = None
    quotas: list[FamilyQuota] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)
    """Where the account's model catalogue disagrees with the shipped metadata (Antigravity)."""
    picker: list[dict[str, Any]] = field(default_factory=list)
    """Gemini web: the account's own model picker (otAQ7b)."""

    @property
    def failed(self) -> bool:
        return self.outcome not in ("ok", "skipped")

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "provider": display_provider(self.provider)}


ResultCallback = Callable[[CheckResult], None]


async def _select_accounts(store: Store, names: Sequence[str]) -> list[AccountPublic]:
    accounts = await repository.list_accounts(store)
    if not names:
        return accounts
    by_name = {account.name: account for account in accounts}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise AccountNotFound(f"no account named {', '.join(repr(n) for n in unknown)}")
    return [by_name[name] for name in dict.fromkeys(names)]


async def _mark_dead(store: Store, account: AccountPublic, exc: AccountDead) -> CheckResult:
    """The credential can never work again without the operator: say so on the account."""
    reason = exc.reason or exc.message
    await repository.update_account(
        store, account.name, status="dead", status_reason=reason, status_url=None, last_error=reason
    )
    return CheckResult(account.name, account.provider, "dead", reason)


async def _check_web(store: Store, web: GeminiWebProvider | None, account: AccountPublic) -> CheckResult:
    """Sign in with the cookies; expired cookies mark the account dead with the reason."""
    if web is None:
        return CheckResult(account.name, account.provider, "skipped", GEMINI_WEB_NOT_CHECKED)
    upstream = await repository.upstream_account(store, account.name)
    try:
        picker = await web.check(upstream)
    except AccountDead as exc:
        return await _mark_dead(store, account, exc)
    except UpstreamError as exc:
        await repository.update_account(store, account.name, last_error=exc.message)
        return CheckResult(account.name, account.provider, "error", exc.message)
    if account.status == "dead":
        await repository.update_account(store, account.name, status="active", status_reason=None)
    await repository.set_meta(store, account.name, repository.WEB_PICKER_META, picker)
    detail = "signed in; picker: " + (", ".join(describe_picker_entry(e) for e in picker) or "none listed")
    return CheckResult(account.name, account.provider, "ok", detail, picker=picker)


def describe_picker_entry(entry: dict[str, Any]) -> str:
    """`3.6 Flash (gemini-flash)`, and why it cannot be used when it cannot."""
    text = f"{entry.get('display_name')} ({entry.get('name')})"
    return text if entry.get("available", True) else text + " unavailable"


async def check_accounts(
    store: Store,
    settings: Settings,
    names: Sequence[str] = (),
    *,
    concurrency: int = CHECK_CONCURRENCY,
    client: AntigravityClient | None = None,
    on_result: ResultCallback | None = None,
) -> list[CheckResult]:
    """Check every account (or the named ones), `concurrency` at a time, persisting what was learned.

    Results come back in account order; `on_result` is called as each finishes (progress display).
    Raises `AccountNotFound` for an unknown name and `OAuthClientNotConfigured` before any network
    call when Antigravity accounts are to be checked without a client secret.
    """
    accounts = await _select_accounts(store, names)
    if any(account.provider == "antigravity" for account in accounts):
        client_secret(settings)
    own_client = client is None
    upstream = client or AntigravityClient(settings)
    web = GeminiWebProvider(settings) if any(a.provider == "gemini_web" for a in accounts) else None
    limit = asyncio.Semaphore(max(1, concurrency))

    async def run(account: AccountPublic) -> CheckResult:
        async with limit:
            result = await check_one(store, upstream, account, web=web)
        if on_result is not None:
            on_result(result)
        return result

    try:
        return list(await asyncio.gather(*(run(account) for account in accounts)))
    finally:
        if own_client:
            await upstream.aclose()
        if web is not None:
            await web.aclose()


async def check_one(
    store: Store, client: AntigravityClient, account: AccountPublic, *, web: GeminiWebProvider | None = None
) -> CheckResult:
    """Check one account and record the outcome on it: project, quotas, or dead/forbidden."""
    if account.provider == "gemini_web":
        return await _check_web(store, web, account)
    upstream = await repository.upstream_account(store, account.name)
    try:
        found = await client.check(upstream)
    except AccountDead as exc:
        return await _mark_dead(store, account, exc)
    except AccountNeedsVerification as exc:  # the owner verifies; the account stays (§12.6)
        await repository.update_account(store, account.name, last_error=exc.message)
        return CheckResult(account.name, account.provider, "verification", exc.message)
    except AccountBanned as exc:  # Terms of Service: dead until an appeal succeeds
        await repository.update_account(
            store,
            account.name,
            status="dead",
            status_reason=exc.message,
            status_url=exc.url,
            last_error=exc.message,
        )
        return CheckResult(account.name, account.provider, "dead", exc.message)
    except AccountForbidden as exc:
        await repository.update_account(
            store,
            account.name,
            status="forbidden",
            status_reason=exc.message,
            status_url=exc.url,
            last_error=exc.message,
        )
        message = exc.message + (f" ({exc.url})" if exc.url and exc.url not in exc.message else "")
        return CheckResult(account.name, account.provider, "forbidden", message)
    except OAuthClientNotConfigured as exc:  # the gateway's configuration, not this account
        return CheckResult(account.name, account.provider, "error", exc.message)
    except (SwitchyardError, httpx.HTTPError) as exc:
        message = exc.message if isinstance(exc, SwitchyardError) else f"network error ({type(exc).__name__})"
        await repository.update_account(store, account.name, last_error=message)
        return CheckResult(account.name, account.provider, "error", message)
    except Exception as exc:  # one account's broken proxy must not abort the check of hundreds
        log.warning("checking account %s failed unexpectedly", account.name, exc_info=True)
        message = f"unexpected error ({type(exc).__name__}); is the account's proxy working?"
        await repository.update_account(store, account.name, last_error=message)
        return CheckResult(account.name, account.provider, "error", message)
    return await _record_check(store, account, found)


async def _record_check(store: Store, account: AccountPublic, found: AccountCheck) -> CheckResult:
    """Persist a healthy check: the project, quotas per family; a `dead` mark is lifted, since the
    token demonstrably works, but `forbidden` stays until the operator enables the account."""
    changes: dict[str, Any] = {"last_error": None}
    if found.project_id != account.project_id:
        changes["project_id"] = found.project_id
    notes = [f"project {found.project_id}" + (" (discovered)" if found.project_discovered else "")]
    if account.status == "dead":
        changes.update(status="active", status_reason=None, status_url=None)
        notes.append("no longer dead")
    elif account.status == "forbidden":
        notes.append(f"still marked forbidden; run `switchyard accounts enable {account.name}` once resolved")
    await repository.update_account(store, account.name, **changes)
    quotas = [
        FamilyQuota(family, quota.remaining_fraction, quota.reset_at)
        for family, quota in sorted(found.quotas.items())
    ]
    # An upsert: the pool's quota refresher may be writing the same rows at this moment.
    await persist.save_quotas(
        store, account.id, {q.family: persist.Quota(q.remaining_fraction, q.reset_at) for q in quotas}
    )
    return CheckResult(
        name=account.name,
        provider=account.provider,
        outcome="ok",
        message="; ".join(notes),
        project_id=found.project_id,
        project_discovered=found.project_discovered,
        tier_id=found.tier_id,
        token_expires_at=found.token_expires_at,
        quotas=quotas,
        drift=found.drift,
    )
