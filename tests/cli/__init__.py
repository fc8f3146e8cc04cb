"""Helpers for driving the real `switchyard` command line against a temporary store and the emulators."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from click.testing import Result
from typer.testing import CliRunner

from switchyard.cli import app, common
from switchyard.emulators.cloudcode import create_app as create_cloudcode
from switchyard.emulators.google_oauth import create_app as create_oauth
from tests.servers import serve

CLIENT_SECRET = "test-client-secret"
TABLE_WIDTH = 250
"""Wide enough that rich never wraps a cell the tests look for."""


@contextlib.contextmanager
def wide_consoles() -> Iterator[None]:
    """The CLI's rich consoles are built at import and may have fixed their width from the
    environment then (80 columns under pytest-xdist), so COLUMNS alone is not enough."""
    consoles = (common.console, common.errors)
    saved = [console._width for console in consoles]
    for console in consoles:
        console.width = TABLE_WIDTH
    try:
        yield
    finally:
        for console, width in zip(consoles, saved, strict=True):
            console._width = width


@dataclass
class Emulators:
    """The Google OAuth and Cloud Code emulators, served on loopback."""

    oauth: str
    cloudcode: str

    def env(self) -> dict[str, str]:
        return {
            "SWITCHYARD_ANTIGRAVITY_BASE_URLS": self.cloudcode,
            "SWITCHYARD_ANTIGRAVITY_DISCOVERY_URL": self.cloudcode,
            "SWITCHYARD_ANTIGRAVITY_OAUTH_TOKEN_URL": f"{self.oauth}/token",
            "SWITCHYARD_ANTIGRAVITY_OAUTH_AUTH_URL": f"{self.oauth}/o/oauth2/v2/auth",
            "SWITCHYARD_ANTIGRAVITY_USERINFO_URL": f"{self.oauth}/oauth2/v2/userinfo",
        }

    def register(self, name: str | None = None, **cloudcode: Any) -> tuple[str, str]:
        """A new Google user (and its Cloud Code options); returns (name, refresh token)."""
        name = name or f"user-{uuid.uuid4().hex[:8]}"
        reply = httpx.post(f"{self.oauth}/_control/accounts", json={"name": name})
        reply.raise_for_status()
        if cloudcode:
            httpx.post(
                f"{self.cloudcode}/_control/accounts", json={"name": name, **cloudcode}
            ).raise_for_status()
        return name, str(reply.json()["refresh_token"])

    def revoke(self, name: str) -> None:
        httpx.post(f"{self.oauth}/_control/accounts/{name}/revoke").raise_for_status()

    def cloudcode_account(self, name: str) -> dict[str, Any]:
        accounts = httpx.get(f"{self.cloudcode}/_control/accounts").json()
        return next(account for account in accounts if account["name"] == name)

    def fault(self, fault: str, **spec: Any) -> None:
        httpx.post(f"{self.cloudcode}/_control/faults", json={"fault": fault, **spec}).raise_for_status()


@contextlib.contextmanager
def emulators() -> Iterator[Emulators]:
    with serve(create_oauth()) as oauth, serve(create_cloudcode()) as cloudcode:
        yield Emulators(oauth=oauth, cloudcode=cloudcode)


@dataclass
class Cli:
    """`switchyard` run in-process (typer's CliRunner) with settings from the environment only."""

    data_dir: Path
    extra_env: dict[str, str | None] = field(default_factory=dict)

    def env(self) -> dict[str, str | None]:
        return {
            "SWITCHYARD_CONFIG": None,
            "SWITCHYARD_DATABASE_URL": None,
            "SWITCHYARD_SECRET_KEY": None,
            "SWITCHYARD_DATA_DIR": str(self.data_dir),
            "SWITCHYARD_ANTIGRAVITY_CLIENT_SECRET": CLIENT_SECRET,
            "COLUMNS": str(TABLE_WIDTH),
            **self.extra_env,
        }

    def run(self, *args: str, code: int = 0) -> Result:
        with wide_consoles():
            result = CliRunner().invoke(app, ["accounts", *args], env=self.env())
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        assert result.exit_code == code, f"exit {result.exit_code}, expected {code}:\n{result.output}"
        return result

    def json(self, *args: str, code: int = 0) -> Any:
        return orjson.loads(self.run(*args, "--json", code=code).stdout)

    def accounts(self) -> dict[str, dict[str, Any]]:
        return {account["name"]: account for account in self.json("list")}
