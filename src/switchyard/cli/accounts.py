"""`switchyard accounts ...`: upstream accounts (being written)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Add, import, check and manage upstream accounts.", no_args_is_help=True)
