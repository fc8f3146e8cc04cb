from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import free_port
from tests.stack import Stack, antigravity_stack

READY = re.compile(r"^switchyard demo ready: gateway=(\S+) control=(\S+) key=(\S+)$")


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with antigravity_stack(tmp_path) as running:
        yield running


@pytest.fixture(scope="module")
def demo() -> Iterator[tuple[str, str, str]]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "switchyard",
            "demo",
            "--port",
            str(port),
            "--api-key",
            "demo-key-for-tests-0001",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        line = ""
        while time.monotonic() < deadline:
            line = process.stdout.readline().strip()
            if line.startswith("switchyard demo ready:") or process.poll() is not None:
                break
        match = READY.match(line)
        assert match, f"no ready line; last output: {line!r}"
        yield match.group(1), match.group(2), match.group(3)
    finally:
        process.terminate()
        process.wait(timeout=20)
        if process.stdout:
            process.stdout.close()
