"""The `switchyard` command line: serve, migrate, demo, emulate, keys, accounts, models."""

from __future__ import annotations

import typer

from switchyard.cli import accounts, keys, models, server

app = typer.Typer(
    name="switchyard",
    help="Switchyard: a self-hosted API gateway for Antigravity and Gemini web accounts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
server.register(app)
models.register(app)
app.add_typer(keys.app, name="keys")
app.add_typer(accounts.app, name="accounts")


def main() -> None:
    app()
