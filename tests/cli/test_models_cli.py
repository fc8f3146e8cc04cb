"""`switchyard models` and the drift report of `switchyard accounts check`, on the emulators."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from typer.testing import CliRunner

from switchyard.cli import app
from tests.cli import Cli, Emulators, emulators, wide_consoles


@pytest.fixture(scope="module")
def upstream() -> Iterator[Emulators]:
    with emulators() as running:
        yield running


@pytest.fixture
def cli(tmp_path: Path, upstream: Emulators) -> Iterator[Cli]:
    yield Cli(tmp_path / "data", dict(upstream.env()))
    httpx.post(f"{upstream.cloudcode}/_control/reset").raise_for_status()


def models(cli: Cli, *args: str, code: int = 0) -> str:
    with wide_consoles():
        result = CliRunner().invoke(app, ["models", *args], env=cli.env())
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == code, result.output
    return result.stdout


def add(cli: Cli, upstream: Emulators) -> str:
    name, token = upstream.register()
    cli.run("add", "antigravity", "--refresh-token", token, "--name", name)
    return name


def rows(cli: Cli) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in orjson.loads(models(cli, "--json"))}


def test_models_lists_todays_catalogue_with_aliases_accounts_and_quota(cli: Cli, upstream: Emulators) -> None:
    first, second = add(cli, upstream), add(cli, upstream)
    found = rows(cli)
    sonnet = found["claude-sonnet-4-6"]
    assert {"claude-sonnet-4-5", "claude-sonnet-4-5-thinking"} <= set(sonnet["aliases"])
    assert {a["account"] for a in sonnet["accounts"]} == {first, second}
    assert sonnet["quota_left"] == 1.0 and sonnet["quota_group"] == "3p"
    assert found["gemini-3.8-flash-tiered"]["thinking"] == "levels low/medium/high"
    assert "gemini-3-pro-high" in found["gemini-pro-agent"]["aliases"]
    assert "gemini-3.1-pro-high" not in found, "the upstream forwards it (deprecatedModelIds)"
    assert not [m for m in found if m.startswith(("chat_", "tab_"))]
    table = models(cli)
    assert "claude-opus-4-6-thinking" in table and "Claude Opus 4.6 (Thinking)" in table


def test_a_model_retired_upstream_leaves_the_list(cli: Cli, upstream: Emulators) -> None:
    add(cli, upstream)
    httpx.post(
        f"{upstream.cloudcode}/_control/retire",
        json={"model": "gemini-3.6-flash-low", "replacement": "gemini-3.7-flash-low"},
    ).raise_for_status()
    assert "gemini-3.6-flash-low" not in rows(cli)


def test_an_account_that_cannot_answer_is_named_and_the_command_fails(cli: Cli, upstream: Emulators) -> None:
    healthy = add(cli, upstream)
    broken = add(cli, upstream)
    upstream.revoke(broken)
    with wide_consoles():
        result = CliRunner().invoke(app, ["models", "--json"], env=cli.env())
    assert result.exit_code == 1
    assert broken in result.stderr
    listed = orjson.loads(result.stdout)
    assert {a["account"] for row in listed for a in row["accounts"]} == {healthy}


def test_check_reports_drift_a_client_version_below_the_floor(cli: Cli, upstream: Emulators) -> None:
    name = add(cli, upstream)
    [clean] = cli.json("check", name)
    assert clean["outcome"] == "ok" and clean["drift"] == []
    httpx.post(
        f"{upstream.cloudcode}/_control/versions",
        json={
            "model_floors": {f"gemini-3.8-flash-{t}": "9.0.0" for t in ("high", "medium", "low", "tiered")}
        },
    ).raise_for_status()
    [drifted] = cli.json("check", name)
    assert any(
        "ANTIGRAVITY_USER_AGENT" in note and "gemini-3.8-flash-high" in note for note in drifted["drift"]
    )
    assert "drift:" in cli.run("check", name).stdout


def test_check_reports_a_user_agent_below_a_models_floor(cli: Cli, upstream: Emulators) -> None:
    name = add(cli, upstream)
    cli.extra_env["SWITCHYARD_ANTIGRAVITY_USER_AGENT"] = "antigravity/hub/2.5.0 darwin/arm64"
    [drifted] = cli.json("check", name)
    [note] = [n for n in drifted["drift"] if "below the floor" in n]
    assert "gemini-3.7-flash-high (needs 2.9.0)" in note and "gemini-3.8-flash-high (needs 2.11.0)" in note
