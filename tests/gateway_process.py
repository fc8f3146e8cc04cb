"""A real `switchyard serve` subprocess on the emulators, for tests that signal or kill it."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from switchyard.emulators.cloudcode import create_app as create_cloudcode
from switchyard.emulators.google_oauth import create_app as create_oauth
from tests.conftest import make_settings
from tests.servers import free_port, serve
from tests.stack import Stack


def gateway_environment(stack: Stack, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "SWITCHYARD_DATA_DIR": str(tmp_path / "data"),
        "SWITCHYARD_ANTIGRAVITY_BASE_URLS": stack.cloudcode,
        "SWITCHYARD_ANTIGRAVITY_DISCOVERY_URL": stack.cloudcode,
        "SWITCHYARD_ANTIGRAVITY_OAUTH_TOKEN_URL": f"{stack.oauth}/token",
        "SWITCHYARD_ANTIGRAVITY_CLIENT_SECRET": "test-secret",
        **extra,
    }


def start_gateway(env: dict[str, str], log: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """`switchyard serve` on a free port, once `/readyz` answers; its output goes to `log` (appended)."""
    port = free_port()
    output = open(log, "ab") if log is not None else subprocess.DEVNULL  # noqa: SIM115  (the child keeps it)
    server = subprocess.Popen(
        [sys.executable, "-m", "switchyard", "serve"],
        env={**env, "SWITCHYARD_PORT": str(port)},
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    if log is not None:
        output.close()  # type: ignore[union-attr]
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60  # a loaded CI machine takes its time to import everything
    while True:
        assert server.poll() is None and time.monotonic() < deadline, "the server did not start"
        try:
            if httpx.get(f"{url}/readyz").status_code == 200:
                return server, url
        except httpx.TransportError:
            time.sleep(0.1)


@contextlib.contextmanager
def emulated_stack(tmp_path: Path) -> Iterator[Stack]:
    """The emulators in this process, one account, a key-less store; the gateway is a subprocess."""
    with serve(create_oauth()) as oauth, serve(create_cloudcode()) as cloudcode:
        stack = Stack(gateway="", oauth=oauth, cloudcode=cloudcode, settings=make_settings(tmp_path))
        stack.add_account("antigravity-1")
        httpx.post(f"{cloudcode}/_control/settings", json={"events_per_stream": 3, "event_delay_ms": 20})
        yield stack
