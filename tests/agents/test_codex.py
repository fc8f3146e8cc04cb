"""Codex CLI, the real one from the npm registry, driving a tool loop through `switchyard demo`.

The pinned `@openai/codex` (tests/agents/codex/package.json + lock; the Linux binary ships in its
`@openai/codex-linux-x64` dependency) is installed with `npm ci` into a cache folder once. Codex
gets a temporary CODEX_HOME whose config.toml points a custom provider at the demo with
`wire_api = "responses"`; the Cloud Code emulator is scripted to answer first with a call of
Codex's `exec_command` tool (`{"cmd": ...}`, what Codex 0.171 offers in its request's `tools`)
running `cat notes.txt`, then with a text holding the code word. Codex sends `store: false` and
`include: ["reasoning.encrypted_content"]`, so the second round passes the emulator's Gemini 3
signature check only through our reasoning items.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

PINNED = Path(__file__).parent / "codex"
CACHE = Path(os.environ.get("SWITCHYARD_AGENT_CACHE", Path.home() / ".cache" / "switchyard-agents")) / "codex"
MODEL = "gemini-3-flash"
CODE_WORD = "PELICAN-42"


def _codex() -> Path:
    """The installed codex binary, installed from the lock when the pin changed."""
    binary = CACHE / "node_modules" / ".bin" / "codex"
    lock = (PINNED / "package-lock.json").read_bytes()
    if not binary.exists() or (CACHE / "package-lock.json").read_bytes() != lock:
        if shutil.which("npm") is None:
            if os.environ.get("CI"):
                pytest.fail("npm is needed to install Codex CLI")
            pytest.skip("npm is not installed, so Codex CLI cannot be installed")
        CACHE.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(PINNED / name, CACHE / name)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=CACHE, check=True, timeout=600)
    return binary


def test_codex_exec_finishes_a_shell_tool_loop(demo: tuple[str, str, str], tmp_path: Path) -> None:
    gateway, control, key = demo
    codex = _codex()
    home, work = tmp_path / "codex-home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    (work / "notes.txt").write_text(f"The code word is {CODE_WORD}.\n")
    (home / "config.toml").write_text(
        f'model_provider = "switchyard"\nmodel = "{MODEL}"\n\n'
        "[model_providers.switchyard]\n"
        'name = "Switchyard"\n'
        f'base_url = "{gateway}/antigravity/v1"\n'
        'wire_api = "responses"\n'
        'env_key = "SWITCHYARD_API_KEY"\n'
    )
    httpx.post(f"{control}/antigravity/_control/reset").raise_for_status()
    replies = [
        {"function_call": {"name": "exec_command", "args": {"cmd": "cat notes.txt"}}},
        {"text": f"The notes say the code word is {CODE_WORD}."},
    ]
    httpx.post(
        f"{control}/antigravity/_control/script", json={"match": {"model": MODEL}, "replies": replies}
    ).raise_for_status()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "CODEX_HOME": str(home),
        "SWITCHYARD_API_KEY": key,
    }
    run = subprocess.run(
        [
            str(codex),
            "exec",
            "--json",
            "--skip-git-repo-check",
            "-m",
            MODEL,
            "Read notes.txt; what is the code word?",
        ],
        cwd=work,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
    )
    events = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    items = [event["item"] for event in events if event.get("type") == "item.completed"]
    commands = [item for item in items if item.get("type") == "command_execution"]
    answers = [item["text"] for item in items if item.get("type") == "agent_message"]
    assert run.returncode == 0, run.stderr[-2000:]
    assert commands and CODE_WORD in commands[0]["aggregated_output"], items
    assert answers and CODE_WORD in answers[-1]
    assert events[-1]["type"] == "turn.completed"
    requests = httpx.get(f"{control}/antigravity/_control/requests").json()
    assert len([r for r in requests if MODEL in str(r.get("body", {}).get("model", ""))]) >= 2
