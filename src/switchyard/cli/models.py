"""`switchyard models`: the live Antigravity catalogue, read from every active account now."""

from __future__ import annotations

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from switchyard.accounts.models import ModelRow, read_catalogue
from switchyard.cli.common import (
    ConfigOption,
    JsonOption,
    console,
    errors,
    print_json,
    settings_from,
    when,
    with_store,
)
from switchyard.store import accounts as repository
from switchyard.store.db import Store


def _quota_cell(row: ModelRow) -> str:
    left = row.quota_left
    if left is None:
        return "-"
    resets = [a.reset_at for a in row.accounts if a.reset_at is not None]
    reset = f", resets {when(min(resets))}" if resets and left < 1 else ""
    return f"{left * 100:.0f}%{reset}"


def register(app: typer.Typer) -> None:
    @app.command()
    def models(as_json: bool = JsonOption, config: str | None = ConfigOption) -> None:
        """List the models the Antigravity accounts serve today: aliases, accounts, quota left.

        Every active account is asked for its catalogue (`fetchAvailableModels`) now; accounts that
        cannot answer are named on stderr and the command exits 1.
        """
        settings = settings_from(config)

        async def work(store: Store) -> tuple[list[ModelRow], dict[str, str]]:
            total = sum(
                1
                for a in await repository.list_accounts(store)
                if a.provider == "antigravity" and a.status == "active"
            )
            with Progress(
                TextColumn("reading catalogues"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=errors,
                transient=True,
                disable=as_json or not errors.is_terminal or total < 2,
            ) as progress:
                task = progress.add_task("read", total=total)
                return await read_catalogue(
                    store, settings, on_account=lambda _name, _error: progress.advance(task)
                )

        rows, failures = with_store(settings, work)
        for name, message in sorted(failures.items()):
            errors.print(f"{name}: [red]error[/red] {message}", highlight=False)
        if as_json:
            print_json([row.to_json() for row in rows])
        elif not rows:
            console.print(
                "No model reported: add an Antigravity account (`switchyard accounts add antigravity`)."
            )
        else:
            table = Table("model", "name", "aliases", "thinking", "group", "accounts", "quota left")
            for row in rows:
                table.add_row(
                    row.id,
                    row.display_name,
                    ", ".join(row.aliases) or "-",
                    row.thinking,
                    row.quota_group,
                    ", ".join(a.account for a in row.accounts) or "-",
                    _quota_cell(row),
                )
            console.print(table)
        if failures:
            raise typer.Exit(1)
