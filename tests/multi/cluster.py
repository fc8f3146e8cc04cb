"""Several real `switchyard serve` processes on one PostgreSQL database and one Redis prefix.

This is the harness for issue 16 ("several instances behave as one"). Usage:

    from tests.multi.cluster import cluster

    def test_something(tmp_path: Path) -> None:
        with cluster(tmp_path, instances=3, accounts=2) as c:
            key = c.create_key("k1", rpm=10)       # through the admin API of instance 0
            client = c.client(key)                 # round-robin over the live instances
            reply = client.generate()              # a Gemini-native generateContent
            assert reply.status_code == 200 and reply.instance == 0
            c.kill(1)                              # kill -9
            c.restart(1)                           # same port, same settings, waits for /readyz
            assert c.seen() == [...]               # accounts the Cloud Code emulator served, in order

What is real: each instance is the CLI entry point (`python -m switchyard serve`) in its own OS
process with its own data folder, configured only through `SWITCHYARD_*` environment variables,
exactly as an operator runs it. What they share is what a deployment shares: a fresh PostgreSQL
database (dropped at the end), one Redis under a unique `SWITCHYARD_REDIS_PREFIX` (deleted at the
end), `SWITCHYARD_SECRET_KEY` and `SWITCHYARD_ADMIN_KEY`. The Google OAuth and Cloud Code emulators
run in the test process (tests/servers.py), so tests can script faults and read their request logs.

Settings for every instance go in `cluster(..., NAME=value)` as keyword arguments, named like the
`Settings` fields (`key_cache_ttl_s=5`; `redis_url=""` runs them without Redis, to see a test go
red). Per instance: `c.instances[i].env[...] = ...` before `c.restart(i)`, or
`c.add_instance(env={...})` then `c.start([index])` for an extra one. By default the instances
reload accounts on every request and do not cache keys, so a change made through one is seen by the
others at once; pass `accounts_reload_interval_s=5` (etc.) to test cross-instance invalidation.

Other helpers: `c.admin(method, path, instance=i)` (the admin API), `c.cli(*args)` (the CLI on the
same store), `c.add_account_cli` / `c.add_account_store`, `c.sql(query)` (the shared database),
`c.redis()` (keys under `c.redis_prefix`), `c.fault(...)` / `c.upstream_requests()` (the Cloud Code
emulator), `c.stop(i)` (SIGTERM), `client.chat(...)` (OpenAI surface), `client.post(path, instance=i)`.
`cluster(..., start=False)` starts nothing and adds no account: call `c.start()` (all at once).

The test skips (or fails under CI) when PostgreSQL or Redis is unreachable, like tests/conftest.py.
An instance that dies is reported with the tail of its log (`Instance.log_tail()`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from switchyard.emulators.cloudcode import create_app as create_cloudcode
from switchyard.emulators.google_oauth import create_app as create_oauth
from tests.conftest import _drop_postgres_database, _postgres_database
from tests.servers import free_port, serve

REDIS_URL = os.environ.get("SWITCHYARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
ADMIN_KEY = "sy-admin-cluster-test-admin-key-0123456789"
SECRET_KEY = "cluster-test-secret-key"
FLASH = "gemini-3-flash"
GENERATE = "enerateContent"  # both :generateContent and :streamGenerateContent
READY_TIMEOUT_S = 60.0
"""Three Python processes importing the gateway at once on two cores take a few seconds each."""


@dataclass
class Instance:
    """One `switchyard serve` process. `process` is None while it is stopped."""

    index: int
    port: int
    data_dir: Path
    log_path: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def spawn(self) -> None:
        """Start the process (not waiting for it to be ready)."""
        if self.alive:
            raise RuntimeError(f"instance {self.index} is already running")
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "switchyard", "serve", "--port", str(self.port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C of pytest must not reach it before teardown
            )

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.ready():
            if self.process is None or self.process.poll() is not None:
                code = None if self.process is None else self.process.returncode
                raise RuntimeError(f"instance {self.index} exited with {code}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"instance {self.index} not ready in {timeout_s} s:\n{self.log_tail()}")
            time.sleep(0.1)

    def kill(self) -> None:
        """kill -9: no shutdown, no flush, no slot released."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM, as an orchestrator stops a container; SIGKILL if it does not exit in time."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return "(no log)"


class Reply:
    """An httpx response plus the index of the instance that answered it."""

    def __init__(self, response: httpx.Response, instance: int) -> None:
        self.response = response
        self.instance = instance

    def __getattr__(self, name: str) -> Any:
        return getattr(self.response, name)


class RoundRobin:
    """An HTTP client that sends each request to the next live instance (like a load balancer)."""

    def __init__(self, cluster: Cluster, key: str | None, timeout_s: float = 30.0) -> None:
        self._cluster = cluster
        self._key = key
        self._http = httpx.Client(timeout=timeout_s)
        self._turn = itertools.count()
        self._lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    def next_instance(self) -> Instance:
        live = [instance for instance in self._cluster.instances if instance.alive]
        if not live:
            raise RuntimeError("no live instance")
        with self._lock:
            turn = next(self._turn)
        return live[turn % len(live)]

    def request(self, method: str, path: str, *, instance: int | None = None, **kwargs: Any) -> Reply:
        """`instance` pins the request to one instance; otherwise the next live one gets it."""
        target = self._cluster.instances[instance] if instance is not None else self.next_instance()
        headers = dict(kwargs.pop("headers", {}) or {})
        if self._key is not None:
            headers.setdefault("authorization", f"Bearer {self._key}")
        response = self._http.request(method, f"{target.url}{path}", headers=headers, **kwargs)
        return Reply(response, target.index)

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Reply:
        return self.request("POST", path, **kwargs)

    def generate(
        self, text: str | None = None, *, model: str = FLASH, instance: int | None = None, **extra: Any
    ) -> Reply:
        """One non-streaming Gemini-native generateContent. A fresh conversation each time unless
        `text` is given (sticky sessions key on the first turn)."""
        text = text if text is not None else f"hello {uuid.uuid4().hex[:8]}"
        return self.post(
            f"/antigravity/v1beta/models/{model}:generateContent",
            instance=instance,
            json={"contents": [{"role": "user", "parts": [{"text": text}]}], **extra},
        )

    def chat(
        self, text: str = "hi", *, model: str = FLASH, instance: int | None = None, **extra: Any
    ) -> Reply:
        """One non-streaming OpenAI chat completion."""
        return self.post(
            "/v1/chat/completions",
            instance=instance,
            json={"model": model, "messages": [{"role": "user", "content": text}], **extra},
        )


@dataclass
class Cluster:
    """The running instances and what they share; built by `cluster()`."""

    workdir: Path
    oauth: str
    cloudcode: str
    database_url: str
    redis_url: str
    redis_prefix: str
    env: dict[str, str]
    instances: list[Instance] = field(default_factory=list)
    account_names: list[str] = field(default_factory=list)
    _clients: list[RoundRobin] = field(default_factory=list)

    # --- processes -------------------------------------------------------------------------
    def add_instance(self, env: dict[str, str] | None = None) -> Instance:
        """Another instance (not started) with its own port and data folder."""
        index = len(self.instances)
        data_dir = self.workdir / f"instance-{index}"
        data_dir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        instance_env = {
            **self.env,
            "SWITCHYARD_DATA_DIR": str(data_dir),
            "SWITCHYARD_PORT": str(port),
            **(env or {}),
        }
        instance = Instance(index, port, data_dir, self.workdir / f"instance-{index}.log", instance_env)
        self.instances.append(instance)
        return instance

    def start(self, indexes: Sequence[int] | None = None, *, wait: bool = True) -> None:
        """Spawn the given instances (all by default) at once, then wait until each is ready."""
        chosen = [self.instances[i] for i in (indexes if indexes is not None else range(len(self.instances)))]
        for instance in chosen:
            instance.spawn()
        if wait:
            self.wait_ready([instance.index for instance in chosen])

    def wait_ready(self, indexes: Sequence[int] | None = None) -> None:
        chosen = [self.instances[i] for i in (indexes if indexes is not None else range(len(self.instances)))]
        with ThreadPoolExecutor(max_workers=max(1, len(chosen))) as workers:
            for future in [workers.submit(instance.wait_ready) for instance in chosen]:
                future.result()

    def kill(self, index: int) -> None:
        """kill -9 one instance."""
        self.instances[index].kill()

    def stop(self, index: int) -> None:
        """SIGTERM one instance and wait for it to exit."""
        self.instances[index].stop()

    def restart(self, index: int) -> None:
        """Start a stopped or killed instance again (same port, data folder and settings)."""
        instance = self.instances[index]
        if instance.alive:
            instance.stop()
        instance.spawn()
        instance.wait_ready()

    def close(self) -> None:
        for client in self._clients:
            client.close()
        with ThreadPoolExecutor(max_workers=max(1, len(self.instances))) as workers:
            list(workers.map(lambda instance: instance.stop(), self.instances))

    # --- clients ---------------------------------------------------------------------------
    def client(self, key: str | None = None, timeout_s: float = 30.0) -> RoundRobin:
        """A round-robin client sending `Authorization: Bearer key` (closed with the cluster)."""
        client = RoundRobin(self, key, timeout_s)
        self._clients.append(client)
        return client

    def admin(self, method: str, path: str, *, instance: int = 0, **kwargs: Any) -> httpx.Response:
        """One admin API call (`/admin/api` + path) on one instance, with the shared admin key."""
        return httpx.request(
            method,
            f"{self.instances[instance].url}/admin/api{path}",
            headers={"authorization": f"Bearer {ADMIN_KEY}"},
            timeout=30,
            **kwargs,
        )

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """`switchyard ARGS...` with the cluster's settings (another process on the same store)."""
        env = {**self.env, "SWITCHYARD_DATA_DIR": str(self.workdir / "cli")}
        return subprocess.run(
            [sys.executable, "-m", "switchyard", *args],
            env=env,
            capture_output=True,
            text=True,
            check=check,
            timeout=120,
        )

    # --- accounts and keys -----------------------------------------------------------------
    def create_key(self, name: str | None = None, *, instance: int = 0, **limits: Any) -> str:
        """A client key through the admin API; `limits` in the API's syntax (`rpm=10`,
        `quota_requests="100/day"`, `max_concurrent=2`)."""
        body = {"name": name or f"key-{uuid.uuid4().hex[:6]}", **limits}
        reply = self.admin("POST", "/keys", instance=instance, json=body)
        reply.raise_for_status()
        return str(reply.json()["key"])

    def register_upstream(self, name: str, **cloudcode_options: Any) -> str:
        """Make `name` known to both emulators; returns its refresh token."""
        token = httpx.post(f"{self.oauth}/_control/accounts", json={"name": name}).json()["refresh_token"]
        if cloudcode_options:
            httpx.post(
                f"{self.cloudcode}/_control/accounts", json={"name": name, **cloudcode_options}
            ).raise_for_status()
        return str(token)

    def add_account(self, name: str, *, instance: int = 0, **cloudcode_options: Any) -> None:
        """An Antigravity account known to the emulators, added through one instance's admin API."""
        token = self.register_upstream(name, **cloudcode_options)
        reply = self.admin(
            "POST",
            "/accounts/antigravity",
            instance=instance,
            json={"name": name, "refresh_token": token, "check": False},
        )
        reply.raise_for_status()
        self.account_names.append(name)

    def add_account_cli(self, name: str, **cloudcode_options: Any) -> None:
        """The same through `switchyard accounts add antigravity` (works with no instance running)."""
        token = self.register_upstream(name, **cloudcode_options)
        self.cli("accounts", "add", "antigravity", "--name", name, "--refresh-token", token)
        self.account_names.append(name)

    def add_account_store(self, name: str, **cloudcode_options: Any) -> None:
        """The same straight into the shared store from this process (quick; no instance needed).
        It migrates the database first, like any instance would."""
        from switchyard.config import Settings
        from switchyard.store import accounts
        from switchyard.store.db import open_store

        token = self.register_upstream(name, **cloudcode_options)
        settings = Settings(
            database_url=self.database_url, secret_key=SECRET_KEY, data_dir=self.workdir / "cli"
        )

        async def go() -> None:
            store = await open_store(settings)
            try:
                await accounts.add_account(
                    store, provider="antigravity", name=name, secret={"refresh_token": token}
                )
            finally:
                await store.close()

        asyncio.run(go())
        self.account_names.append(name)

    # --- the emulators and the shared state ------------------------------------------------
    def upstream_requests(self, path_part: str = "") -> list[dict[str, Any]]:
        log = httpx.get(f"{self.cloudcode}/_control/requests").json()
        return [entry for entry in log if path_part in entry["path"]]

    def seen(self) -> list[str]:
        """The accounts of the generation calls the Cloud Code emulator received, in order."""
        return [entry["account"] for entry in self.upstream_requests(GENERATE)]

    def fault(self, fault: str, **spec: Any) -> None:
        """Script a Cloud Code fault (`quota_exhausted`, ...; see emulators/cloudcode_faults.py)."""
        httpx.post(f"{self.cloudcode}/_control/faults", json={"fault": fault, **spec}).raise_for_status()

    def redis(self) -> redis.Redis:
        """A client on the shared Redis; keys are under `self.redis_prefix`."""
        return redis.Redis.from_url(self.redis_url, decode_responses=True)

    def sql(self, query: str, *args: Any) -> list[dict[str, Any]]:
        """Run one SQL query on the shared database; rows as dicts."""
        import asyncpg

        async def go() -> list[dict[str, Any]]:
            connection = await asyncpg.connect(self.database_url, timeout=10)
            try:
                return [dict(row) for row in await connection.fetch(query, *args)]
            finally:
                await connection.close()

        return asyncio.run(go())


def redis_or_skip(url: str = REDIS_URL) -> None:
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis at {url} is required under CI: {exc!r}")
        pytest.skip(f"no Redis at {url} ({type(exc).__name__})")


def _settings_env(settings: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in settings.items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, list | tuple):
            text = ",".join(str(part) for part in value)
        else:
            text = str(value)
        out[f"SWITCHYARD_{name.upper()}"] = text
    return out


@contextlib.contextmanager
def cluster(
    tmp_path: Path,
    instances: int = 3,
    *,
    accounts: int = 2,
    start: bool = True,
    token_lifetime_s: float = 3599,
    cloudcode_options: dict[str, Any] | None = None,
    **settings: Any,
) -> Iterator[Cluster]:
    """`instances` gateways on a fresh PostgreSQL database and a fresh Redis prefix.

    `accounts` Antigravity accounts (`antigravity-1`...) are added to the store before the
    instances start (with `start=False` nothing is started and no account is added: the test
    starts them itself, e.g. all at once on the empty database). `cloudcode_options` go to the Cloud
    Code emulator for each account (`quota_requests=...`). Keyword `settings` become env variables.
    """
    redis_or_skip()
    database_url = _postgres_database()
    if database_url is None:
        pytest.skip("PostgreSQL is not reachable")
    prefix = f"switchyard-cluster-{uuid.uuid4().hex[:10]}"
    inherited = {name: value for name, value in os.environ.items() if not name.startswith("SWITCHYARD_")}
    try:
        with (
            serve(create_oauth(token_lifetime_s=token_lifetime_s)) as oauth,
            serve(create_cloudcode()) as cloudcode,
        ):
            env = {
                **inherited,
                "PYTHONUNBUFFERED": "1",
                **_settings_env(
                    {
                        "host": "127.0.0.1",
                        "database_url": database_url,
                        "redis_url": REDIS_URL,
                        "redis_prefix": prefix,
                        "secret_key": SECRET_KEY,
                        "admin_key": ADMIN_KEY,
                        "log_level": "warning",
                        "antigravity_base_urls": cloudcode,
                        "antigravity_discovery_url": cloudcode,
                        "antigravity_oauth_token_url": f"{oauth}/token",
                        "antigravity_userinfo_url": f"{oauth}/oauth2/v2/userinfo",
                        "antigravity_oauth_auth_url": f"{oauth}/o/oauth2/v2/auth",
                        "antigravity_client_secret": "test-client-secret",
                        "accounts_reload_interval_s": 0.0,
                        "key_cache_ttl_s": 0.0,
                        "usage_flush_interval_s": 0.05,
                        "quota_refresh_interval_s": 0,
                        "shutdown_grace_s": 5,
                        **settings,
                    }
                ),
            }
            built = Cluster(
                workdir=tmp_path / "cluster",
                oauth=oauth,
                cloudcode=cloudcode,
                database_url=database_url,
                redis_url=REDIS_URL,
                redis_prefix=prefix,
                env=env,
            )
            built.workdir.mkdir(parents=True, exist_ok=True)
            for _ in range(instances):
                built.add_instance()
            try:
                if start:
                    for index in range(1, accounts + 1):
                        built.add_account_store(f"antigravity-{index}", **(cloudcode_options or {}))
                    built.start()
                yield built
            finally:
                built.close()
    finally:
        try:
            client = redis.Redis.from_url(REDIS_URL)
            keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
            if keys:
                client.delete(*keys)
            client.close()
        except redis.RedisError:
            pass
        _drop_postgres_database(database_url)
