"""`switchyard accounts login antigravity` end to end: a real `switchyard` process waits on its loopback
callback while the test plays the browser against the OAuth emulator."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import orjson
import pytest

from tests.cli import CLIENT_SECRET, Cli, Emulators, emulators
from tests.servers import free_port


@pytest.fixture(scope="module")
def upstream() -> Iterator[Emulators]:
    with emulators() as running:
        yield running


@pytest.fixture
def cli(tmp_path: Path, upstream: Emulators) -> Cli:
    return Cli(tmp_path / "data", dict(upstream.env()))


class LoginProcess:
    """`python -m switchyard accounts login antigravity --no-browser` in a subprocess."""

    def __init__(self, cli: Cli, port: int, *extra: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHYARD_")}
        env |= {k: v for k, v in cli.env().items() if v is not None}
        command = [sys.executable, "-m", "switchyard", "accounts", "login", "antigravity"]
        command += ["--no-browser", "--port", str(port), "--timeout", "30", "--json", *extra]
        self.process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def auth_url(self) -> str:
        """The consent URL, printed whole on a line of its own on stderr (stdout is the JSON result)."""
        assert self.process.stderr is not None
        seen = []
        for line in self.process.stderr:
            if line.startswith("http"):
                return line.strip()
            seen.append(line)
        raise AssertionError(f"no sign-in URL on stderr: {''.join(seen)}")

    def finish(self) -> tuple[int, str, str]:
        out, err = self.process.communicate(timeout=60)
        return self.process.returncode, out, err


def browser_signs_in(url: str) -> httpx.Response:
    """What the user's browser does: consent (the emulator auto-consents), follow the redirect home."""
    return httpx.get(url, follow_redirects=True, timeout=30)


def login(cli: Cli, *extra: str) -> dict[str, Any]:
    port = free_port()
    process = LoginProcess(cli, port, *extra)
    url = process.auth_url()
    page = browser_signs_in(url)
    code, out, err = process.finish()
    assert page.status_code == 200 and "Signed in" in page.text
    assert code == 0, err
    result: dict[str, Any] = orjson.loads(out)
    return result


def test_login_adds_the_account_with_email_and_project(cli: Cli, upstream: Emulators) -> None:
    port = free_port()
    process = LoginProcess(cli, port)
    url = process.auth_url()
    query = parse_qs(urlsplit(url).query)
    stale = httpx.get(f"http://127.0.0.1:{port}/oauth-callback?code=forged&state=not-ours")
    page = browser_signs_in(url)
    code, out, err = process.finish()

    assert url.startswith(f"{upstream.oauth}/o/oauth2/v2/auth?")
    assert query["redirect_uri"] == [f"http://localhost:{port}/oauth-callback"]
    assert query["access_type"] == ["offline"] and query["prompt"] == ["consent"]
    assert len(query["state"][0]) >= 16
    assert stale.status_code == 400
    assert page.status_code == 200 and "Signed in" in page.text
    assert code == 0, err
    assert CLIENT_SECRET not in out + err
    added = orjson.loads(out)  # stdout is nothing but the result
    assert added["created"] is True
    assert added["email"].endswith("@example.com")
    assert added["name"] == "antigravity-" + added["email"].split("@")[0]
    assert added["check"]["outcome"] == "ok"
    stored = cli.accounts()[added["name"]]
    assert stored["email"] == added["email"]
    assert stored["project_id"] == upstream.cloudcode_account(added["email"].split("@")[0])["project_id"]


def test_login_again_repairs_a_dead_account(cli: Cli, upstream: Emulators) -> None:
    first = login(cli)
    upstream.revoke(first["email"].split("@")[0])
    cli.run("check", code=1)
    assert cli.accounts()[first["name"]]["state"] == "dead"

    again = login(cli, "--name", first["name"])

    assert again["created"] is False
    assert again["name"] == first["name"]
    assert again["check"]["outcome"] == "ok"
    assert list(cli.accounts()) == [first["name"]]
    assert cli.accounts()[first["name"]]["state"] == "active"


def test_login_times_out_with_a_clear_message(cli: Cli) -> None:
    result = cli.run(
        "login", "antigravity", "--no-browser", "--port", str(free_port()), "--timeout", "1", code=1
    )

    assert "no sign-in came back within 1 s" in result.stderr
    assert cli.accounts() == {}


def test_login_without_client_secret_fails_before_the_browser(tmp_path: Path, upstream: Emulators) -> None:
    cli = Cli(tmp_path / "data", {**upstream.env(), "SWITCHYARD_ANTIGRAVITY_CLIENT_SECRET": None})

    result = cli.run("login", "antigravity", "--no-browser", "--port", str(free_port()), code=1)

    assert "SWITCHYARD_ANTIGRAVITY_CLIENT_SECRET" in result.stderr
    assert "http://" not in result.output


def test_login_refuses_a_busy_port(cli: Cli, upstream: Emulators) -> None:
    busy = int(upstream.oauth.rsplit(":", 1)[1])

    result = cli.run("login", "antigravity", "--no-browser", "--port", str(busy), code=1)

    assert f"cannot listen on 127.0.0.1:{busy}" in result.stderr
    assert "--port" in result.stderr
