"""Issue 17 #4: PostgreSQL going away and coming back. Keys and accounts seen before are served
from memory, usage waits in the spool and is written when the database returns, and only what
needs the database gets a 503 with Retry-After; /readyz and the store-up gauge say so. At start,
`serve` waits for the database with a clear log line instead of a traceback."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from sqlalchemy import select

from switchyard.store.db import Store
from switchyard.store.tables import UsageEvent
from tests.conftest import run_with_store
from tests.private_postgres import private_postgres
from tests.servers import free_port
from tests.stack import antigravity_stack

CHAT = "/antigravity/v1/chat/completions"
ADMIN_KEY = "sy-admin-store-down-test"


def _usage(settings) -> dict[str, int]:  # type: ignore[no-untyped-def]
    async def read(store: Store) -> dict[str, int]:
        async with store.sessions() as session:
            return dict((await session.execute(select(UsageEvent.request_id, UsageEvent.status))).all())

    return dict(run_with_store(settings, read))


def _store_up(gateway: str) -> float:
    for line in httpx.get(f"{gateway}/metrics").text.splitlines():
        if line.startswith("switchyard_store_up "):
            return float(line.split()[1])
    raise AssertionError("no switchyard_store_up gauge")


def test_postgres_stopped_and_restarted_under_load(tmp_path: Path) -> None:
    with (
        private_postgres() as postgres,
        antigravity_stack(
            tmp_path, accounts_count=1, database_url=postgres.url, admin_key=ADMIN_KEY
        ) as stack,
    ):
        key = stack.create_key("steady")
        ids = itertools.count()
        seen: dict[str, int] = {}
        stop = threading.Event()

        def chat(request_id: str, api_key: str = key) -> httpx.Response:
            return httpx.post(
                stack.gateway + CHAT,
                headers={"Authorization": f"Bearer {api_key}", "x-request-id": request_id},
                json={"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "hi"}]},
                timeout=30,
            )

        def load() -> None:
            while not stop.is_set():
                request_id = f"load-{next(ids)}"
                seen[request_id] = chat(request_id).status_code

        assert chat("warm").status_code == 200  # the key and the account are now in memory
        workers = [threading.Thread(target=load) for _ in range(3)]
        for worker in workers:
            worker.start()
        try:
            time.sleep(0.3)
            postgres.stop()
            time.sleep(1.0)  # requests run while the database is gone
            during = len(seen)
            refused = chat("never-seen", api_key="sk-never-seen-0000000000000000")
            admin_write = httpx.post(
                f"{stack.gateway}/admin/api/keys",
                headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                json={"name": "made-while-down"},
            )
            ready = httpx.get(f"{stack.gateway}/readyz")
            gauge_down = _store_up(stack.gateway)
            time.sleep(0.5)
            postgres.start()
            time.sleep(0.5)
        finally:
            stop.set()
            for worker in workers:
                worker.join(timeout=30)
        assert len(seen) > during > 0
        assert set(seen.values()) == {200}, seen
        assert refused.status_code == 503, refused.text
        assert refused.headers["retry-after"] == "5"
        assert refused.json()["error"]["code"] == "store_unavailable"
        assert admin_write.status_code == 503 and admin_write.headers["retry-after"] == "5", admin_write.text
        assert ready.status_code == 200 and ready.json()["status"] == "degraded", ready.text
        assert ready.json()["store"] == "unreachable"
        assert gauge_down == 0.0
        deadline = time.monotonic() + 20
        rows = _usage(stack.settings)
        while not {"warm", *seen} <= rows.keys() and time.monotonic() < deadline:
            time.sleep(0.2)
            rows = _usage(stack.settings)
        missing = {"warm", *seen} - rows.keys()
        assert not missing, f"{len(missing)} of {len(seen)} requests have no usage row"
        assert httpx.get(f"{stack.gateway}/readyz").json()["status"] == "ready"
        assert _store_up(stack.gateway) == 1.0


def _serve(tmp_path: Path, database_url: str, wait_s: float) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SWITCHYARD_DATA_DIR": str(tmp_path / "data"),
        "SWITCHYARD_PORT": str(free_port()),
        "SWITCHYARD_DATABASE_URL": database_url,
        "SWITCHYARD_STORE_WAIT_S": str(wait_s),
        "SWITCHYARD_ANTIGRAVITY_CLIENT_SECRET": "test-secret",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "switchyard", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _read_until(server: subprocess.Popen[bytes], needle: str, timeout_s: float) -> str:
    """The server's output up to the first line holding `needle` (or its exit)."""
    assert server.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = server.stdout.readline().decode()
        if not line and server.poll() is not None:
            break
        seen.append(line)
        if needle in line:
            break
    return "".join(seen)


def test_serve_waits_for_an_unreachable_database_then_starts(tmp_path: Path) -> None:
    with private_postgres(started=False) as postgres:
        server = _serve(tmp_path, postgres.url, wait_s=60)
        try:
            output = _read_until(server, "waiting for the database", 30)
            assert f"waiting for the database at 127.0.0.1:{postgres.port}" in output, output
            assert "retrying in" in output
            postgres.start()
            output += _read_until(server, "Application startup complete", 30)
            assert server.poll() is None, output
            assert "Application startup complete" in output, output
            assert "Traceback" not in output
        finally:
            server.kill()
            server.communicate()


def test_serve_gives_up_on_a_database_that_stays_unreachable_without_a_traceback(tmp_path: Path) -> None:
    with private_postgres(started=False) as postgres:
        server = _serve(tmp_path, postgres.url, wait_s=1.5)
        output = server.communicate(timeout=30)[0].decode()
    assert server.returncode == 1, output
    assert "waiting for the database" in output and "not starting" in output, output
    assert "Traceback" not in output, output
