"""`switchyard accounts import`: every supported export format, and what is skipped and why."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.cli import Cli

TOKENS = [f"1//0-import-token-{n:02d}-abcdefghij" for n in range(10)]


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "data")


def write(path: Path, content: Any) -> Path:
    path.write_text(content if isinstance(content, str) else json.dumps(content, indent=2))
    return path


def reasons(report: dict[str, Any]) -> dict[str, str]:
    return {entry["source"]: entry["reason"] for entry in report["skipped"]}


def test_cliproxyapi_auth_directory(cli: Cli, tmp_path: Path) -> None:
    auths = tmp_path / "auths"
    auths.mkdir()
    write(
        auths / "antigravity-alice@example.com.json",
        {
            "type": "antigravity",
            "email": "alice@example.com",
            "refresh_token": TOKENS[0],
            "access_token": "ya29.short-lived",
            "expired": "2026-01-01T00:00:00Z",
            "project_id": "bold-river-a1b2c",
        },
    )
    write(
        auths / "bob.json",
        {
            "type": "antigravity",
            "email": "Bob.Smith@example.com",
            "refresh_token": TOKENS[1],
            "attributes": {"user_agent": "antigravity/cli/1.1.22 darwin/arm64"},
        },
    )
    write(auths / "codex-carol.json", {"type": "codex", "email": "carol@example.com", "refresh_token": "x"})
    write(auths / "broken.json", '{\n  "type": "antigravity",\n  "refresh_token": \n}')
    write(auths / "notes.txt", TOKENS[2])  # not a .json file: not read

    report = cli.json("import", str(auths))

    imported = {item["name"]: item for item in report["imported"]}
    assert set(imported) == {"antigravity-alice", "antigravity-bob.smith"}
    assert imported["antigravity-alice"]["project_id"] == "bold-river-a1b2c"
    assert imported["antigravity-alice"]["source"] == "antigravity-alice@example.com.json"
    skipped = reasons(report)
    assert skipped["codex-carol.json"] == "a CLIProxyAPI 'codex' auth file, not Antigravity"
    assert skipped["broken.json"] == "invalid JSON at line 4, column 1: Expecting value"
    accounts = cli.accounts()
    assert accounts["antigravity-alice"]["email"] == "alice@example.com"
    assert accounts["antigravity-alice"]["secret_fingerprint"] == "…ghij"
    assert accounts["antigravity-alice"]["user_agent"] is None
    assert accounts["antigravity-bob.smith"]["user_agent"] == "antigravity/cli/1.1.22 darwin/arm64"
    assert all(token not in json.dumps(report) for token in TOKENS)


def test_antigravity2api_accounts_json_with_duplicates_and_disabled_entries(cli: Cli, tmp_path: Path) -> None:
    cli.run("add", "antigravity", "--refresh-token", TOKENS[3], "--name", "already-here")
    source = write(
        tmp_path / "accounts.json",
        [
            {
                "refresh_token": TOKENS[4],
                "projectId": "calm-lake-12345",
                "email": "dave@example.com",
                "enable": True,
            },
            {"refresh_token": TOKENS[5], "email": "erin@example.com", "enable": False},
            {"access_token": "ya29.only", "email": "frank@example.com"},
            {"refresh_token": TOKENS[3], "email": "grace@example.com"},
            {"refresh_token": TOKENS[4], "email": "dave-again@example.com"},
            {
                "refresh_token": TOKENS[6],
                "project_id": "p-6",
                "user_agent": "antigravity/hub/2.11.0 darwin/arm64",
            },
        ],
    )

    report = cli.json("import", str(source))

    assert [(i["name"], i["project_id"]) for i in report["imported"]] == [
        ("antigravity-dave", "calm-lake-12345"),
        ("antigravity-1", "p-6"),
    ]
    assert cli.accounts()["antigravity-1"]["user_agent"] == "antigravity/hub/2.11.0 darwin/arm64"
    skipped = reasons(report)
    assert skipped["accounts.json entry 2"] == "disabled in source"
    assert skipped["accounts.json entry 3"].startswith("missing token")
    assert skipped["accounts.json entry 4"] == (
        "duplicate: this refresh token is already stored as account 'already-here'"
    )
    assert skipped["accounts.json entry 5"] == "duplicate of accounts.json entry 1 in this import"
    assert {entry["email"] for entry in report["skipped"]} >= {"erin@example.com", "grace@example.com"}


def test_plain_token_lists_json_and_text(cli: Cli, tmp_path: Path) -> None:
    as_json = write(tmp_path / "tokens.json", [TOKENS[0], TOKENS[1]])
    as_text = write(
        tmp_path / "tokens.txt",
        f"# exported tokens\n{TOKENS[2]}\n\n{TOKENS[0]}\nnot a token at all\n{TOKENS[7]}\n",
    )

    first = cli.json("import", str(as_json))
    second = cli.run("import", str(as_text))

    assert [item["name"] for item in first["imported"]] == ["antigravity-1", "antigravity-2"]
    assert "2 imported, 2 skipped." in second.stdout
    assert "tokens.txt line 4" in second.stdout
    assert "already stored as account 'antigravity-1'" in second.stdout
    assert "tokens.txt line 5" in second.stdout
    assert "contains spaces" in second.stdout
    assert TOKENS[2] not in second.output
    assert set(cli.accounts()) == {f"antigravity-{n}" for n in range(1, 5)}


def test_json_lines_report_the_broken_line(cli: Cli, tmp_path: Path) -> None:
    source = write(
        tmp_path / "export.jsonl",
        f'{{"refresh_token": "{TOKENS[0]}", "email": "a@example.com"}}\n'
        '{"refresh_token": oops}\n'
        f'{{"refresh_token": "{TOKENS[1]}"}}\n',
    )

    report = cli.json("import", str(source))

    assert [item["source"] for item in report["imported"]] == ["export.jsonl line 1", "export.jsonl line 3"]
    assert reasons(report)["export.jsonl line 2"].startswith("invalid JSON at line 2")


def test_gemini_web_cookie_objects(cli: Cli, tmp_path: Path) -> None:
    source = write(
        tmp_path / "cookies.json",
        [
            {"psid": "g.a000first-psid-0001", "psidts": "sidts-first"},
            {"__Secure-1PSID": "g.a000second-psid-0002", "__Secure-1PSIDTS": "sidts-second"},
            {"psidts": "sidts-orphan"},
        ],
    )

    report = cli.json("import", str(source))

    assert [(i["name"], i["provider"], i["secret_fingerprint"]) for i in report["imported"]] == [
        ("gemini-web-1", "gemini-web", "…0001"),
        ("gemini-web-2", "gemini-web", "…0002"),
    ]
    assert reasons(report)["cookies.json entry 3"].startswith("missing token")
    assert "sidts-second" not in json.dumps(report)


def test_browser_cookie_editor_export(cli: Cli, tmp_path: Path) -> None:
    future = time.time() + 86400 * 300
    source = write(
        tmp_path / "gemini.google.com.json",
        [
            {"name": "NID", "value": "nid", "domain": ".google.com"},
            {
                "name": "__Secure-1PSID",
                "value": "g.a000from-the-browser-7777",
                "domain": ".google.com",
                "expirationDate": future,
            },
            {"name": "__Secure-1PSIDTS", "value": "sidts-browser", "domain": ".google.com"},
            {"name": "__Secure-1PSID", "value": "g.a000other-site-0000", "domain": ".example.org"},
        ],
    )

    report = cli.json("import", str(source))
    refused = cli.json("import", str(source), "--provider", "antigravity")

    assert [(i["provider"], i["secret_fingerprint"]) for i in report["imported"]] == [("gemini-web", "…7777")]
    assert refused["imported"] == []
    assert "--provider antigravity" in refused["skipped"][0]["reason"]


def test_netscape_cookies_txt(cli: Cli, tmp_path: Path) -> None:
    expires = int(time.time()) + 86400
    lines = [
        "# Netscape HTTP Cookie File",
        "# https://curl.se/docs/http-cookies.html",
        f".google.com\tTRUE\t/\tTRUE\t{expires}\t__Secure-1PSID\tg.a000netscape-5555",
        f"#HttpOnly_.google.com\tTRUE\t/\tTRUE\t{expires}\t__Secure-1PSIDTS\tsidts-netscape",
    ]
    source = write(tmp_path / "cookies.txt", "\n".join(lines) + "\n")
    expired = write(
        tmp_path / "old.txt", ".google.com\tTRUE\t/\tTRUE\t1700000000\t__Secure-1PSID\tg.a000expired-0000\n"
    )

    report = cli.json("import", str(source))
    stale = cli.json("import", str(expired))

    assert [i["secret_fingerprint"] for i in report["imported"]] == ["…5555"]
    assert stale["imported"] == []
    assert "expired on 2023-11-14" in stale["skipped"][0]["reason"]


def test_bare_values_are_psids_with_provider_gemini_web(cli: Cli, tmp_path: Path) -> None:
    source = write(tmp_path / "psids.txt", "g.a000bare-psid-1111\n")

    report = cli.json("import", str(source), "--provider", "gemini-web")

    assert [(i["name"], i["provider"]) for i in report["imported"]] == [("gemini-web-1", "gemini-web")]


def test_import_errors_that_stop_everything(cli: Cli, tmp_path: Path) -> None:
    source = write(tmp_path / "tokens.txt", TOKENS[0])

    missing = cli.run("import", str(tmp_path / "nope.json"), code=1)
    bad_proxy = cli.run("import", str(source), "--proxy", "gopher://h:1", code=1)
    bad_provider = cli.run("import", str(source), "--provider", "claude", code=1)

    assert "no such file or directory" in missing.stderr
    assert "unsupported proxy" in bad_proxy.stderr
    assert "unknown provider 'claude'" in bad_provider.stderr
    assert cli.accounts() == {}


def test_import_applies_the_proxy_to_every_account(cli: Cli, tmp_path: Path) -> None:
    source = write(tmp_path / "tokens.json", TOKENS[:2])

    cli.json("import", str(source), "--proxy", "http://user:pw@10.1.1.1:3128")

    assert {a["proxy"] for a in cli.accounts().values()} == {"http://user:***@10.1.1.1:3128"}
