"""Node clients against the gateway on the emulators (issue 13): @google/genai, the Vercel AI SDK's
Google and OpenAI-compatible providers, and openai for Node — a two-turn tool loop on a Claude
thinking model and on Gemini 3.x, stream and non-stream. The clients come from the committed
`tests/clients/package-lock.json` through `npm ci`."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.stack import Stack

CLIENTS_DIR = Path(__file__).resolve().parent.parent / "clients"


@pytest.fixture(scope="session")
def node_clients() -> Path:
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        if os.environ.get("CI") == "true":
            raise AssertionError("node and npm are required under CI (.ci/run installs them)")
        pytest.skip("node/npm not installed")
    stamp = CLIENTS_DIR / "node_modules" / ".package-lock.json"
    lock = CLIENTS_DIR / "package-lock.json"
    if not stamp.exists() or stamp.stat().st_mtime < lock.stat().st_mtime:
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
            cwd=CLIENTS_DIR,
            check=True,
            timeout=600,
        )
    return CLIENTS_DIR


@pytest.mark.parametrize("stream", ["0", "1"], ids=["unary", "stream"])
@pytest.mark.parametrize("model", ["claude-sonnet-4-6", "gemini-3-flash"])
@pytest.mark.parametrize("client", ["genai", "ai-google", "ai-compatible", "openai"])
def test_node_tool_loop(stack: Stack, node_clients: Path, client: str, model: str, stream: str) -> None:
    env = {
        **os.environ,
        "GATEWAY": stack.gateway,
        "KEY": stack.create_key(),
        "MODEL": model,
        "STREAM": stream,
    }
    done = subprocess.run(
        ["node", "tool_loop.mjs", client],
        cwd=node_clients,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "temp_c" in done.stdout, done.stdout
