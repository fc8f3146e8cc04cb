"""`switchyard accounts add|list|enable|disable|delete`: no network, a temporary store."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import Cli

REFRESH_TOKEN = "1//0-refresh-token-for-tests-Wxyz"
PSID = "g.a000psid-cookie-for-tests-Qrst"
PSIDTS = "sidts-timestamp-cookie-Mnop"


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "data")


def test_add_antigravity_names_accounts_and_never_prints_the_token(cli: Cli) -> None:
    first = cli.json("add", "antigravity", "--refresh-token", REFRESH_TOKEN)
    second = cli.run(
        "add", "antigravity", "--refresh-token", "1//0-another-token-abcd", "--project-id", "my-proj"
    )

    assert first["name"] == "antigravity-1"
    assert first["provider"] == "antigravity"
    assert first["secret_fingerprint"] == "…Wxyz"
    assert first["state"] == "active"
    assert REFRESH_TOKEN not in str(first)
    assert "antigravity-2" in second.stdout
    assert "switchyard accounts check antigravity-2" in second.stdout
    assert cli.accounts()["antigravity-2"]["project_id"] == "my-proj"


def test_add_gemini_web_stores_cookies_without_echoing_them(cli: Cli) -> None:
    result = cli.run("add", "gemini-web", "--psid", PSID, "--psidts", PSIDTS, "--json")
    listed = cli.run("list", "--json")

    for output in (result.output, listed.output):
        assert PSID not in output
        assert PSIDTS not in output
    account = cli.accounts()["gemini-web-1"]
    assert account["provider"] == "gemini-web"
    assert account["secret_fingerprint"] == "…Qrst"


def test_the_same_credential_is_refused_twice_and_names_are_unique(cli: Cli) -> None:
    cli.run("add", "antigravity", "--refresh-token", REFRESH_TOKEN, "--name", "work")

    again = cli.run("add", "antigravity", "--refresh-token", REFRESH_TOKEN, code=1)
    taken = cli.run("add", "gemini-web", "--psid", PSID, "--name", "work", code=1)

    assert "already stored as account 'work'" in again.stderr
    assert REFRESH_TOKEN not in again.output
    assert "exists already" in taken.stderr
    assert list(cli.accounts()) == ["work"]


def test_a_bad_proxy_is_refused_without_showing_its_password(cli: Cli) -> None:
    result = cli.run(
        "add", "antigravity", "--refresh-token", REFRESH_TOKEN, "--proxy", "ftp://me:hunter2@proxy:21", code=1
    )

    assert "unsupported proxy" in result.stderr
    assert "socks5://" in result.stderr
    assert "hunter2" not in result.output
    assert cli.accounts() == {}


def test_list_shows_the_proxy_with_its_password_masked(cli: Cli) -> None:
    cli.run(
        "add", "antigravity", "--refresh-token", REFRESH_TOKEN, "--proxy", "socks5://me:hunter2@10.0.0.1:1080"
    )

    table = cli.run("list").stdout
    listed = cli.accounts()["antigravity-1"]

    assert listed["proxy"] == "socks5://me:***@10.0.0.1:1080"
    assert "socks5://me:***@10.0.0.1:1080" in table
    assert "hunter2" not in table
    assert "antigravity-1" in table
    assert "…Wxyz" in table


def test_disable_enable_and_delete(cli: Cli) -> None:
    cli.run("add", "antigravity", "--refresh-token", REFRESH_TOKEN)

    cli.run("disable", "antigravity-1")
    disabled = cli.accounts()["antigravity-1"]
    disabled_table = cli.run("list").stdout
    cli.run("enable", "antigravity-1")
    enabled = cli.accounts()["antigravity-1"]
    cli.run("delete", "antigravity-1")

    assert (disabled["enabled"], disabled["state"]) == (False, "disabled")
    assert "│ disabled" in disabled_table
    assert (enabled["enabled"], enabled["state"]) == (True, "active")
    assert cli.accounts() == {}
    assert "no account named 'antigravity-1'" in cli.run("delete", "antigravity-1", code=1).stderr
    assert "no account named 'ghost'" in cli.run("enable", "ghost", code=1).stderr


def test_empty_list_says_how_to_add_an_account(cli: Cli) -> None:
    assert "switchyard accounts login antigravity" in cli.run("list").stdout
    assert cli.json("list") == []


def test_unknown_provider_for_add_is_a_usage_error(cli: Cli) -> None:
    result = cli.run("add", "openai", "--refresh-token", REFRESH_TOKEN, code=2)
    assert "No such command" in result.output


def test_an_antigravity_accounts_own_user_agent_is_set_changed_and_cleared(cli: Cli) -> None:
    cli_ua = "antigravity/cli/1.1.22 darwin/arm64"
    added = cli.json("add", "antigravity", "--refresh-token", REFRESH_TOKEN, "--user-agent", cli_ua)
    changed = cli.json("set", "antigravity-1", "--user-agent", "antigravity/hub/2.12.0 darwin/arm64")
    table = cli.run("list").stdout
    cleared = cli.json("set", "antigravity-1", "--user-agent", "")
    refused = cli.run("set", "antigravity-1", "--user-agent", "bad\nvalue", code=1)
    cli.run("add", "gemini-web", "--psid", PSID)
    web = cli.run("set", "gemini-web-1", "--user-agent", cli_ua, code=1)

    assert added["user_agent"] == cli_ua
    assert changed["user_agent"] == "antigravity/hub/2.12.0 darwin/arm64"
    assert "antigravity/hub/2.12.0" in table
    assert cleared["user_agent"] is None and cli.accounts()["antigravity-1"]["user_agent"] is None
    assert "User-Agent" in refused.stderr
    assert "only Antigravity accounts" in web.stderr
