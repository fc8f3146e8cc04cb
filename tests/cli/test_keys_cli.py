"""`switchyard keys ...` driven as a user would, against a real store in a temp data folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from switchyard.cli import app

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SWITCHYARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SWITCHYARD_CONFIG", raising=False)
    return tmp_path


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_create_json_list_and_lifecycle(env: Path) -> None:
    code, out = invoke(
        "keys",
        "create",
        "--name",
        "team-a",
        "--rpm",
        "30",
        "--models",
        "gemini-*,claude-*",
        "--quota-requests",
        "1000/day",
        "--expires",
        "30d",
        "--json",
    )
    assert code == 0, out
    created = json.loads(out)
    assert created["key"].startswith("sk-sy-") and created["name"] == "team-a"
    assert created["limits"]["rpm"] == 30 and created["limits"]["quota_requests"] == "1000/day"
    assert created["fingerprint"] == "…" + created["key"][-4:]

    code, out = invoke("keys", "list", "--json")
    listed = json.loads(out)
    assert [k["name"] for k in listed] == ["team-a"] and "key" not in listed[0]
    assert created["key"] not in out

    assert invoke("keys", "disable", "team-a")[0] == 0
    assert json.loads(invoke("keys", "list", "--json")[1])[0]["enabled"] is False
    assert invoke("keys", "enable", "team-a")[0] == 0
    assert invoke("keys", "delete", "team-a")[0] == 0
    assert json.loads(invoke("keys", "list", "--json")[1]) == []


def test_readable_create_prints_the_key_on_its_own_line(env: Path) -> None:
    code, out = invoke("keys", "create", "--name", "readable")
    assert code == 0
    lines = [line.strip() for line in out.splitlines()]
    assert any(line.startswith("sk-sy-") and " " not in line for line in lines)
    code, table = invoke("keys", "list")
    assert "readable" in table and "unlimited" in table


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--quota-requests", "ten/day"], "N/day"),
        (["--expires", "someday"], "30d"),
    ],
)
def test_bad_limits_are_explained(env: Path, args: list[str], message: str) -> None:
    code, out = invoke("keys", "create", "--name", "bad", *args)
    assert code != 0 and message in out


def test_unknown_key_and_duplicate_name(env: Path) -> None:
    code, out = invoke("keys", "disable", "ghost")
    assert code != 0 and "no key named 'ghost'" in out
    assert invoke("keys", "create", "--name", "twice")[0] == 0
    code, out = invoke("keys", "create", "--name", "twice")
    assert code != 0 and "exists already" in out
