"""The processes of a benchmark run: emulators, gateway and floor, each its own OS process.

`BenchStack` starts the OAuth and Cloud Code emulators (`switchyard emulate`), sets up a throw-away
store with one account and one client key, starts the gateway (`switchyard serve`, exactly what an
operator runs) and the byte-relay floor (`bench.floor`), waits until each answers, and stops them
all at the end. Everything listens on loopback.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from switchyard.config import Settings

import httpx

ACCOUNT = "antigravity-1"
READY_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Service:
    """One started process and the URL it serves on."""

    name: str
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def start_service(
    name: str, argv: list[str], port: int, ready_path: str, env: dict[str, str], logs: Path
) -> Service:
    """Start `argv`, then poll `ready_path` until it answers 200 (or the process dies)."""
    log_path = logs / f"{name}.log"
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(argv, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    service = Service(name=name, process=process, url=f"http://127.0.0.1:{port}", log_path=log_path)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        if process.poll() is not None:
            raise RuntimeError(
                f"{name} exited with {process.returncode}; see {log_path}:\n{log_path.read_text()[-2000:]}"
            )
        try:
            if httpx.get(service.url + ready_path, timeout=2).status_code == 200:
                return service
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            service.stop()
            raise TimeoutError(f"{name} was not ready within {READY_TIMEOUT_S} s; see {log_path}")
        time.sleep(0.1)


def gateway_env(base: dict[str, str], data_dir: Path, oauth: str, cloudcode: str) -> dict[str, str]:
    """The gateway's settings: the emulators as upstream, a throw-away store, no caps in the way."""
    env = dict(base)
    env.update(
        {
            "SWITCHYARD_DATA_DIR": str(data_dir),
            "SWITCHYARD_ANTIGRAVITY_BASE_URLS": cloudcode,
            "SWITCHYARD_ANTIGRAVITY_DISCOVERY_URL": cloudcode,
            "SWITCHYARD_ANTIGRAVITY_OAUTH_TOKEN_URL": f"{oauth}/token",
            "SWITCHYARD_ANTIGRAVITY_USERINFO_URL": f"{oauth}/oauth2/v2/userinfo",
            "SWITCHYARD_ANTIGRAVITY_CLIENT_SECRET": "bench",
            # One account serves every stream of the benchmark; its per-account cap would queue them.
            "SWITCHYARD_POOL_ACCOUNT_MAX_CONCURRENCY": "100000",
            # One key sends them all; the default per-key cap would refuse most.
            "SWITCHYARD_KEY_DEFAULT_MAX_CONCURRENT": "0",
            "SWITCHYARD_QUOTA_REFRESH_INTERVAL_S": "0",
        }
    )
    return env


def settings_from_env(env: dict[str, str]) -> Settings:
    """The gateway's `Settings` as a process started with `env` would read them."""
    from switchyard.config import Settings

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        return Settings()
    finally:
        os.environ.clear()
        os.environ.update(saved)


async def _prepare_store(env: dict[str, str], refresh_token: str) -> str:
    """Add the account and create the client key in the gateway's store; returns the key."""
    from switchyard.keys import service as keys
    from switchyard.store import accounts
    from switchyard.store.db import open_store

    settings = settings_from_env(env)
    store = await open_store(settings)
    try:
        await accounts.add_account(
            store, provider="antigravity", name=ACCOUNT, secret={"refresh_token": refresh_token}
        )
        _, key = await keys.create_key(store, "bench", keys.KeyLimits())
    finally:
        await store.close()
    return str(key)


@dataclass
class BenchStack:
    """The running processes of one benchmark run, and what clients need to call them."""

    workdir: Path
    oauth: Service
    cloudcode: Service
    gateway: Service
    floor: Service
    client_key: str
    access_token: str
    project: str
    extra: list[Service] = field(default_factory=list)

    def services(self) -> list[Service]:
        return [self.gateway, self.floor, self.cloudcode, self.oauth, *self.extra]

    def stop(self) -> None:
        for service in self.services():
            service.stop()

    def emulator_settings(self, **settings: Any) -> None:
        """Shape the Cloud Code emulator's streams (`POST /_control/settings`)."""
        values = {"events_per_stream": None, "bytes_per_event": None, "event_delay_ms": 0, **settings}
        httpx.post(f"{self.cloudcode.url}/_control/settings", json=values, timeout=10).raise_for_status()


def _python() -> list[str]:
    return [sys.executable]


def start_stack(keep_logs: Path | None = None) -> BenchStack:
    """Start everything; on any failure stop what was started."""
    workdir = Path(tempfile.mkdtemp(prefix="switchyard-bench-"))
    logs = keep_logs or workdir
    logs.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    started: list[Service] = []
    try:
        oauth_port, cloudcode_port, gateway_port, floor_port = (free_port() for _ in range(4))
        started.append(
            start_service(
                "oauth",
                [*_python(), "-m", "switchyard", "emulate", "oauth", "--port", str(oauth_port)],
                oauth_port,
                "/_control/accounts",
                env,
                logs,
            )
        )
        oauth = started[-1]
        started.append(
            start_service(
                "cloudcode",
                [*_python(), "-m", "switchyard", "emulate", "antigravity", "--port", str(cloudcode_port)],
                cloudcode_port,
                "/_control/settings",
                env,
                logs,
            )
        )
        cloudcode = started[-1]
        refresh_token = httpx.post(f"{oauth.url}/_control/accounts", json={"name": ACCOUNT}).json()[
            "refresh_token"
        ]
        httpx.post(
            f"{cloudcode.url}/_control/accounts", json={"name": ACCOUNT, "quota_requests": 1_000_000_000}
        ).raise_for_status()
        genv = gateway_env(env, workdir / "data", oauth.url, cloudcode.url)
        client_key = asyncio.run(_prepare_store(genv, refresh_token))
        started.append(
            start_service(
                "gateway",
                [*_python(), "-m", "switchyard", "serve", "--port", str(gateway_port)],
                gateway_port,
                "/readyz",
                genv,
                logs,
            )
        )
        gateway = started[-1]
        started.append(
            start_service(
                "floor",
                [*_python(), "-m", "bench.floor", "--port", str(floor_port), "--upstream", cloudcode.url],
                floor_port,
                "/_floor/healthz",
                env,
                logs,
            )
        )
        floor = started[-1]
        access_token, project = _direct_credentials(oauth.url, cloudcode.url, refresh_token)
    except BaseException:
        for service in reversed(started):
            service.stop()
        if keep_logs is None:
            shutil.rmtree(workdir, ignore_errors=True)
        raise
    return BenchStack(
        workdir=workdir,
        oauth=oauth,
        cloudcode=cloudcode,
        gateway=gateway,
        floor=floor,
        client_key=client_key,
        access_token=access_token,
        project=project,
    )


def _direct_credentials(oauth: str, cloudcode: str, refresh_token: str) -> tuple[str, str]:
    """An access token and the Cloud project, obtained as any client would (for direct calls)."""
    grant = httpx.post(
        f"{oauth}/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": _client_id(),
            "client_secret": "bench",
        },
    )
    grant.raise_for_status()
    token = grant.json()["access_token"]
    reply = httpx.post(
        f"{cloudcode}/v1internal:loadCodeAssist",
        json={
            "metadata": {"ideType": "ANTIGRAVITY", "platform": "PLATFORM_UNSPECIFIED", "pluginType": "GEMINI"}
        },
        headers={"authorization": f"Bearer {token}"},
    )
    reply.raise_for_status()
    project = reply.json()["cloudaicompanionProject"]
    if isinstance(project, dict):
        project = project["id"]
    return token, str(project)


def _client_id() -> str:
    from switchyard.config import ANTIGRAVITY_CLIENT_ID

    return ANTIGRAVITY_CLIENT_ID
