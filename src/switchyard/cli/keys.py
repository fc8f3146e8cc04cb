"""`switchyard keys ...`: client keys ("licenses") and their limits."""

from __future__ import annotations

import typer
from rich.table import Table

from switchyard.cli.common import (
    ConfigOption,
    JsonOption,
    console,
    fail,
    print_json,
    settings_from,
    when,
    with_store,
)
from switchyard.keys import service
from switchyard.keys.limits import parse_expiry, parse_quota
from switchyard.keys.service import KeyLimits, KeyPublic

app = typer.Typer(help="Create and manage client keys (licenses).", no_args_is_help=True)


def _limits(
    expires: str | None,
    models: str | None,
    rpm: int | None,
    max_concurrent: int | None,
    quota_requests: str | None,
    quota_tokens: str | None,
) -> KeyLimits:
    try:
        return KeyLimits(
            expires_at=parse_expiry(expires) if expires else None,
            models=[m.strip() for m in models.split(",") if m.strip()] if models else None,
            rpm=rpm,
            max_concurrent=max_concurrent,
            quota_requests=parse_quota(quota_requests) if quota_requests else None,
            quota_tokens=parse_quota(quota_tokens) if quota_tokens else None,
        )
    except ValueError as exc:
        fail(str(exc))
        raise


@app.command("create")
def create(
    name: str = typer.Option(..., "--name", help="A name people recognise, unique."),
    expires: str | None = typer.Option(None, "--expires", help="30d, 12h, 2w, or a date like 2026-12-31."),
    models: str | None = typer.Option(
        None, "--models", help="Allowed models, comma-separated globs: gemini-*,claude-*"
    ),
    rpm: int | None = typer.Option(None, "--rpm", min=1, help="Requests per minute."),
    max_concurrent: int | None = typer.Option(
        None, "--max-concurrent", min=1, help="Requests in flight at once."
    ),
    quota_requests: str | None = typer.Option(None, "--quota-requests", help="N/day, N/week or N/month."),
    quota_tokens: str | None = typer.Option(None, "--quota-tokens", help="N/day, N/week or N/month."),
    as_json: bool = JsonOption,
    config: str | None = ConfigOption,
) -> None:
    """Create a key. It is shown once: only its hash is stored."""
    limits = _limits(expires, models, rpm, max_concurrent, quota_requests, quota_tokens)
    try:
        key, secret = with_store(
            settings_from(config), lambda store: service.create_key(store, name, limits), changes="keys"
        )
    except (service.KeyExists, ValueError) as exc:
        fail(str(exc))
        return
    if as_json:
        print_json({**key.to_json(), "key": secret})
        return
    console.print(
        f"Created key [bold]{key.name}[/bold] ({key.limits.describe()}, expires {when(key.limits.expires_at)})."
    )
    console.print("Copy it now; it is not shown again:")
    print(secret)


def _usage_cell(key: KeyPublic) -> str:
    parts = [f"{key.usage.requests_total} req", f"{key.usage.tokens_total} tok"]
    if key.limits.quota_requests and key.usage.requests_in_period is not None:
        parts.append(f"{key.usage.requests_in_period}/{key.limits.quota_requests}")
    if key.limits.quota_tokens and key.usage.tokens_in_period is not None:
        parts.append(f"{key.usage.tokens_in_period}/{key.limits.quota_tokens} tok")
    return ", ".join(parts)


@app.command("list")
def list_keys(as_json: bool = JsonOption, config: str | None = ConfigOption) -> None:
    """List keys with their limits and usage so far."""
    keys = with_store(settings_from(config), service.list_keys)
    if as_json:
        print_json([key.to_json() for key in keys])
        return
    table = Table("name", "key", "state", "limits", "expires", "usage", "last used")
    for key in keys:
        state = "disabled" if not key.enabled else ("expired" if key.expired else "enabled")
        table.add_row(
            key.name,
            key.fingerprint,
            state,
            key.limits.describe(),
            when(key.limits.expires_at),
            _usage_cell(key),
            when(key.last_used_at),
        )
    console.print(table)


def _set_enabled(name: str, enabled: bool, config: str | None) -> None:
    try:
        with_store(
            settings_from(config), lambda store: service.set_enabled(store, name, enabled), changes="keys"
        )
    except service.KeyNotFound as exc:
        fail(str(exc))
    console.print(f"Key {name} {'enabled' if enabled else 'disabled'}.")


@app.command("disable")
def disable(name: str, config: str | None = ConfigOption) -> None:
    """Disable a key (requests with it get 403 until enabled again)."""
    _set_enabled(name, False, config)


@app.command("enable")
def enable(name: str, config: str | None = ConfigOption) -> None:
    """Enable a disabled key."""
    _set_enabled(name, True, config)


@app.command("delete")
def delete(name: str, config: str | None = ConfigOption) -> None:
    """Delete a key for good (its usage history stays)."""
    try:
        with_store(settings_from(config), lambda store: service.delete_key(store, name), changes="keys")
    except service.KeyNotFound as exc:
        fail(str(exc))
    console.print(f"Key {name} deleted.")


@app.command("edit")
def edit(
    name: str,
    expires: str | None = typer.Option(None, "--expires"),
    models: str | None = typer.Option(None, "--models"),
    rpm: int | None = typer.Option(None, "--rpm", min=1),
    max_concurrent: int | None = typer.Option(None, "--max-concurrent", min=1),
    quota_requests: str | None = typer.Option(None, "--quota-requests"),
    quota_tokens: str | None = typer.Option(None, "--quota-tokens"),
    config: str | None = ConfigOption,
) -> None:
    """Replace a key's limits (limits not given are removed)."""
    limits = _limits(expires, models, rpm, max_concurrent, quota_requests, quota_tokens)
    try:
        key = with_store(
            settings_from(config), lambda store: service.update_limits(store, name, limits), changes="keys"
        )
    except service.KeyNotFound as exc:
        fail(str(exc))
        return
    console.print(f"Key {key.name}: {key.limits.describe()}.")
