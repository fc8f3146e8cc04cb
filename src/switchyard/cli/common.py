"""What the CLI commands share: settings, running a coroutine against the store, output."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

import orjson
import typer
from rich.console import Console

from switchyard.config import Settings, load_settings
from switchyard.shared.changes import Change, Scope, announce
from switchyard.store.db import Store, open_store

T = TypeVar("T")
console = Console()
errors = Console(stderr=True)

ConfigOption = typer.Option(None, "--config", help="TOML settings file (same names as SWITCHYARD_*).")
JsonOption = typer.Option(False, "--json", help="Print JSON instead of a table.")


def settings_from(config: str | None) -> Settings:
    try:
        return load_settings(config)
    except (OSError, ValueError) as exc:
        fail(f"cannot read the settings: {exc}")
        raise


def with_store(
    settings: Settings, work: Callable[[Store], Awaitable[T]], *, changes: Scope | None = None
) -> T:
    """Open the store (migrating it), run `work`, close it. `changes` names what `work` changes:
    once it succeeded, running gateways are told (Redis pub/sub, when `SWITCHYARD_REDIS_URL` is
    set; without it they see the change when their caches expire)."""

    async def run() -> T:
        store = await open_store(settings)
        try:
            result = await work(store)
        finally:
            await store.close()
        if changes is not None:
            await announce(settings.redis_url, settings.redis_prefix, Change(changes, "changed"))
        return result

    return asyncio.run(run())


def fail(message: str, code: int = 1) -> None:
    errors.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code)


def print_json(data: object) -> None:
    typer.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())


def when(moment: float | None) -> str:
    if moment is None:
        return "-"
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M")
