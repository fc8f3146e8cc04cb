"""Installing the real coding agents the end-to-end tests drive, from the npm registry, into a cache.

`package.json` and `package-lock.json` beside this file pin the exact versions; `npm ci` installs
them into `$SWITCHYARD_AGENTS_DIR` (default `~/.cache/switchyard-agents`), once per lock file: a
stamp holding the lock's digest says the cache is current. `.ci/run` calls this module before
the tests (`python -m tests.agents.install`), so CI never depends on a test installing things.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
MANIFESTS = ("package.json", "package-lock.json")
INSTALL_TIMEOUT_S = 600


class AgentsUnavailable(RuntimeError):
    """npm is missing or the install failed; the message says which."""


def agents_dir() -> Path:
    configured = os.environ.get("SWITCHYARD_AGENTS_DIR")
    return Path(configured) if configured else Path.home() / ".cache" / "switchyard-agents"


def _lock_digest() -> str:
    return hashlib.sha256((HERE / "package-lock.json").read_bytes()).hexdigest()


def ensure_installed() -> Path:
    """The `node_modules/.bin` folder holding the agents, installing them first when needed."""
    target = agents_dir()
    stamp = target / ".installed-lock-sha256"
    bin_dir = target / "node_modules" / ".bin"
    if stamp.exists() and stamp.read_text() == _lock_digest() and (bin_dir / "claude").exists():
        return bin_dir
    npm = shutil.which("npm")
    if npm is None:
        raise AgentsUnavailable(
            "npm is not installed (Node.js 18+ and npm are needed to install Claude Code)"
        )
    target.mkdir(parents=True, exist_ok=True)
    for name in MANIFESTS:
        shutil.copyfile(HERE / name, target / name)
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=target,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
        check=False,
    )
    if result.returncode != 0 or not (bin_dir / "claude").exists():
        raise AgentsUnavailable(f"npm ci failed in {target}: {(result.stderr or result.stdout)[-2000:]}")
    stamp.write_text(_lock_digest())
    return bin_dir


if __name__ == "__main__":
    print(ensure_installed())
    sys.exit(0)
