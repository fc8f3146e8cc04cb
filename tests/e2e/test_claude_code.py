"""Claude Code itself, driven non-interactively against `switchyard demo` (issue 14).

The real `claude` CLI (pinned in `tests/agents/package-lock.json`, installed from the npm registry
by `tests/agents/install.py`) runs one tool loop with `ANTHROPIC_BASE_URL` pointed at the gateway:
the emulator is scripted to answer first with a `Read` call on a file this test wrote, then with a
text. The loop is real: Claude Code executes `Read`, and the second upstream request must carry the
file's content as the function response. Everything optional that would reach the network
(telemetry, auto-update, non-essential traffic) is switched off, and HOME is a fresh folder.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.agents.install import AgentsUnavailable, ensure_installed

CODE_WORD = "PERIWINKLE-42"
MODEL = "claude-sonnet-4-6"


def _claude() -> Path:
    try:
        return ensure_installed() / "claude"
    except (AgentsUnavailable, subprocess.TimeoutExpired) as exc:
        if os.environ.get("CI"):
            raise  # CI installs the agents first (.ci/run); failing to is a failure there
        pytest.skip(f"Claude Code could not be installed from the npm registry: {exc}")


@pytest.mark.timeout(900)
def test_claude_code_reads_a_file_through_the_gateway(demo: tuple[str, str, str], tmp_path: Path) -> None:
    gateway, control, key = demo
    claude = _claude()
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    notes = work / "notes.txt"
    notes.write_text(f"Remember this. The code word is {CODE_WORD}.\n")
    cloudcode = f"{control}/antigravity/_control"
    httpx.post(f"{cloudcode}/reset").raise_for_status()
    httpx.post(
        f"{cloudcode}/script",
        json={
            "match": {"model": MODEL},
            "replies": [
                {"function_call": {"name": "Read", "args": {"file_path": str(notes)}}},
                {"text": f"The code word in notes.txt is {CODE_WORD}."},
            ],
        },
    ).raise_for_status()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": f"{gateway}/antigravity",
        "ANTHROPIC_API_KEY": key,
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }
    result = subprocess.run(
        [
            str(claude),
            "-p",
            "Read the file notes.txt and tell me the code word",
            "--output-format",
            "json",
            "--allowedTools",
            "Read",
            "--model",
            MODEL,
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"stdout: {result.stdout[-3000:]}\nstderr: {result.stderr[-3000:]}"
    answer = json.loads(result.stdout)
    assert answer["is_error"] is False and answer["num_turns"] >= 2, answer
    assert CODE_WORD in answer["result"]
    generate = [
        entry
        for entry in httpx.get(f"{cloudcode}/requests").json()
        if "generateContent" in entry["path"] or "streamGenerateContent" in entry["path"]
    ]
    last_request = json.dumps(generate[-1]["body"]["request"]["contents"])
    assert "functionResponse" in last_request and CODE_WORD in last_request, "Read never ran through the loop"
    assert httpx.get(f"{cloudcode}/script").json() == [], "both scripted answers were used"
