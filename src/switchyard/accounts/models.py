"""The live model catalogue as operators see it: `switchyard models` and the console's Models page.

Each row is one model clients can ask for today: its display name, the alias names that reach it,
the accounts whose last `fetchAvailableModels` listed it and how much quota they have left.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from switchyard.config import Settings
from switchyard.errors import SwitchyardError
from switchyard.providers.antigravity import AntigravityClient, Catalogue
from switchyard.providers.antigravity.errors import parse_rfc3339
from switchyard.store import accounts as repository
from switchyard.store.db import Store

READ_CONCURRENCY = 8


@dataclass(frozen=True)
class AccountQuota:
    account: str
    remaining_fraction: float
    reset_at: float | None


@dataclass
class ModelRow:
    id: str
    display_name: str
    quota_group: str
    thinking: str
    aliases: list[str] = field(default_factory=list)
    accounts: list[AccountQuota] = field(default_factory=list)

    @property
    def quota_left(self) -> float | None:
        """The mean remaining fraction over the accounts serving the model (None if none does)."""
        if not self.accounts:
            return None
        return sum(a.remaining_fraction for a in self.accounts) / len(self.accounts)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "quota_left": self.quota_left}


def thinking_text(catalogue: Catalogue, model_id: str) -> str:
    meta = catalogue.meta(model_id)
    if meta.family == "image":
        return "image generation"
    if meta.thinking_levels:
        return "levels " + "/".join(meta.thinking_levels)
    if meta.thinking_budget is not None:
        low, high = meta.thinking_budget
        return f"budget {low}..{high}" + ("" if meta.thinking else " (off by default)")
    return "fixed by the id" if meta.thinking else "no"


def catalogue_rows(catalogue: Catalogue, account_names: Mapping[int, str]) -> list[ModelRow]:
    """One row per model clients can use today, with its aliases and serving accounts.

    `account_names` names the accounts to show (the active ones); others' replies are left out."""
    rows = []
    for model_id in catalogue.current_ids():
        meta = catalogue.meta(model_id)
        quotas = []
        for account_id in catalogue.serving(model_id):
            if account_id not in account_names:
                continue
            info = catalogue.quota(account_id, model_id) or {}
            reset = info.get("resetTime")
            quotas.append(
                AccountQuota(
                    account_names[account_id],
                    float(info.get("remainingFraction") or 0.0),
                    parse_rfc3339(reset) if isinstance(reset, str) else None,
                )
            )
        rows.append(
            ModelRow(
                id=model_id,
                display_name=meta.display_name,
                quota_group=meta.quota_group,
                thinking=thinking_text(catalogue, model_id),
                aliases=catalogue.aliases_of(model_id),
                accounts=quotas,
            )
        )
    return rows


async def read_catalogue(
    store: Store,
    settings: Settings,
    *,
    on_account: Callable[[str, str | None], None] | None = None,
) -> tuple[list[ModelRow], dict[str, str]]:
    """Ask every active Antigravity account for its models now; (rows, {account: error}).

    `on_account(name, error)` is called as each account answers (progress display).
    """
    accounts = [
        a
        for a in await repository.list_accounts(store)
        if a.provider == "antigravity" and a.status == "active"
    ]
    client = AntigravityClient(settings)
    names: dict[int, str] = {}
    failures: dict[str, str] = {}
    limit = asyncio.Semaphore(READ_CONCURRENCY)

    async def read(name: str) -> None:
        error = None
        async with limit:
            upstream = await repository.upstream_account(store, name)
            names[upstream.id] = name
            try:
                await client.fetch_available_models(upstream)
            except SwitchyardError as exc:
                error = failures[name] = exc.message
            except Exception as exc:  # one account's broken proxy must not hide the others
                error = failures[name] = f"unexpected error ({type(exc).__name__})"
        if on_account is not None:
            on_account(name, error)

    try:
        await asyncio.gather(*(read(a.name) for a in accounts))
    finally:
        await client.aclose()
    return catalogue_rows(client.catalogue, names), failures
