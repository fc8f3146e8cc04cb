"""`switchyard accounts check` against the OAuth and Cloud Code emulators: project discovery, quota,
dead and forbidden accounts, and what `list` shows afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli import Cli, Emulators, emulators


@pytest.fixture(scope="module")
def upstream() -> Iterator[Emulators]:
    with emulators() as running:
        yield running


@pytest.fixture
def cli(tmp_path: Path, upstream: Emulators) -> Cli:
    return Cli(tmp_path / "data", dict(upstream.env()))


def add(cli: Cli, upstream: Emulators, **cloudcode: object) -> str:
    """Register a user with the emulators and add it under the same name; returns the name."""
    name, token = upstream.register(**cloudcode)
    cli.run("add", "antigravity", "--refresh-token", token, "--name", name)
    return name


def test_check_onboards_a_new_account_and_persists_project_and_quota(cli: Cli, upstream: Emulators) -> None:
    name = add(cli, upstream, project_style="onboard", onboard_polls=0)

    [result] = cli.json("check", name)
    listed = cli.accounts()[name]
    table = cli.run("list").stdout
    [again] = cli.json("check", name)

    expected_project = upstream.cloudcode_account(name)["project_id"]
    assert result["outcome"] == "ok"
    assert result["project_id"] == expected_project
    assert result["project_discovered"] is True
    assert {quota["family"] for quota in result["quotas"]} == {"3p", "gemini"}, (
        "the upstream's two quota pools"
    )
    assert listed["project_id"] == expected_project
    families = {state["model"]: state for state in listed["models"]}
    assert families["3p"]["quota_remaining"] == 1.0
    assert families["3p"]["quota_reset_at"] is not None
    assert expected_project in table
    assert "3p: 100% left resets" in table
    assert again["project_discovered"] is False


def test_check_marks_a_revoked_token_dead_and_exits_non_zero(cli: Cli, upstream: Emulators) -> None:
    healthy = add(cli, upstream)
    revoked = add(cli, upstream)
    upstream.revoke(revoked)

    results = {r["name"]: r for r in cli.json("check", code=1)}
    table = cli.run("list").stdout
    account = cli.accounts()[revoked]

    assert results[healthy]["outcome"] == "ok"
    assert results[revoked]["outcome"] == "dead"
    assert results[revoked]["message"].startswith("re-login needed")
    assert (account["status"], account["state"]) == ("dead", "dead")
    assert account["status_reason"].startswith("re-login needed")
    assert cli.accounts()[healthy]["state"] == "active"
    assert "re-login needed" in table


def test_check_marks_a_403_forbidden_with_the_upstream_reason(cli: Cli, upstream: Emulators) -> None:
    name = add(cli, upstream)
    upstream.fault(
        "forbidden", reason="SUBSCRIPTION_REQUIRED", method="loadCodeAssist", match={"account": name}
    )

    [result] = cli.json("check", name, code=1)
    account = cli.accounts()[name]
    table = cli.run("check", name, code=0).stdout  # the fault was used up: the account answers again
    after = cli.accounts()[name]
    cli.run("enable", name)

    assert result["outcome"] == "forbidden"
    assert account["state"] == "forbidden"
    assert "licen" in account["status_reason"].lower()
    assert "still marked forbidden" in table
    assert after["state"] == "forbidden"
    assert cli.accounts()[name]["state"] == "active"


def test_check_reports_verification_with_the_link_and_keeps_the_account(
    cli: Cli, upstream: Emulators
) -> None:
    name = add(cli, upstream)
    url = "https://accounts.google.com/signin/continue?sarp=1&scc=1"
    upstream.fault(
        "forbidden",
        reason="VALIDATION_REQUIRED",
        validation_url=url,
        method="loadCodeAssist",
        match={"account": name},
    )

    [result] = cli.json("check", name, code=1)
    account = cli.accounts()[name]

    assert result["outcome"] == "verification" and url in result["message"]
    assert account["state"] == "active" and url in account["last_error"]


def test_check_many_accounts_concurrently(cli: Cli, upstream: Emulators) -> None:
    names = [add(cli, upstream) for _ in range(10)]

    results = cli.json("check", "--concurrency", "4")

    outcomes = {r["name"]: r["outcome"] for r in results}
    assert [r["name"] for r in results] == sorted(outcomes)
    assert all(outcomes[name] == "ok" for name in names)


def test_check_gemini_web_signs_in_and_marks_expired_cookies_dead(tmp_path: Path) -> None:
    from tests.web_stack import emulator_proxy

    with emulator_proxy(tmp_path) as (proxy, control):
        live = control.post("/_control/accounts", json={"name": "gemini-web-1", "tier": "pro"}).json()
        cli = Cli(tmp_path / "data", {"SWITCHYARD_GEMINI_WEB_CA_BUNDLE": str(proxy.ca_path)})
        cli.run(
            "add",
            "gemini-web",
            "--psid",
            live["psid"],
            "--psidts",
            live["psidts"],
            "--proxy",
            proxy.proxy_url,
        )
        cli.run("add", "gemini-web", "--psid", "g.a000-never-issued-cookie-0000", "--proxy", proxy.proxy_url)

        results = {r["name"]: r for r in cli.json("check", code=1)}

    assert results["gemini-web-1"]["outcome"] == "ok"
    # the account's own picker (otAQ7b), in the result, on the account, and in `accounts list`
    assert "picker: 3.7 Flash (gemini-flash)" in results["gemini-web-1"]["message"]
    picker = [entry["display_name"] for entry in results["gemini-web-1"]["picker"]]
    assert picker == ["3.7 Flash", "3.5 Flash-Lite", "3.1 Pro"]
    assert [e["name"] for e in cli.accounts()["gemini-web-1"]["web_picker"]] == [
        "gemini-flash",
        "gemini-flash-lite",
        "gemini-pro",
    ]
    listed = cli.run("list").stdout
    assert "3.5 Flash-Lite" in listed and "3.1 Pro" in listed
    assert results["gemini-web-2"]["outcome"] == "dead"
    assert "cookies expired" in results["gemini-web-2"]["message"]
    assert cli.accounts()["gemini-web-2"]["state"] == "dead"


def test_check_without_client_secret_says_what_to_set(tmp_path: Path, upstream: Emulators) -> None:
    cli = Cli(tmp_path / "data", {**upstream.env(), "SWITCHYARD_ANTIGRAVITY_CLIENT_SECRET": None})
    cli.run("add", "antigravity", "--refresh-token", "1//0-token-abcd")

    result = cli.run("check", code=1)

    assert "SWITCHYARD_ANTIGRAVITY_CLIENT_SECRET" in result.stderr
    assert "docs/credentials.md" in result.stderr
    assert cli.accounts()["antigravity-1"]["state"] == "active"


def test_check_an_unknown_account_is_an_error(cli: Cli) -> None:
    assert "no account named 'ghost'" in cli.run("check", "ghost", code=1).stderr


def test_add_with_check_verifies_at_once(cli: Cli, upstream: Emulators) -> None:
    name, token = upstream.register()

    added = cli.json("add", "antigravity", "--refresh-token", token, "--name", name, "--check")

    assert added["check"]["outcome"] == "ok"
    assert added["project_id"] == upstream.cloudcode_account(name)["project_id"]
