"""`switchyard demo`: the whole gateway on the built-in emulators, on a throw-away store.

The emulators are mounted on the gateway's own port under `/_emulator/<name>/` and the gateway is
configured to call them there, exactly as it would call Google; the Gemini web emulator also
listens as an HTTPS proxy on a second port, because that is how `gemini-webapi` reaches it.
Emulators never import the gateway; only this module knows both.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import signal
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from switchyard.app import GatewayApp, create_app
from switchyard.config import Settings
from switchyard.emulators import cloudcode, gemini_web, google_oauth
from switchyard.emulators.tls_proxy import GeminiWebProxy
from switchyard.keys import service as keys
from switchyard.store import accounts
from switchyard.store.db import open_store

DEMO_ACCOUNTS = 2
DEMO_CLIENT_SECRET = "demo-client-secret"


def demo_settings(host: str, port: int, data_dir: Path, admin_key: str) -> Settings:
    base = f"http://{host}:{port}/_emulator"
    return Settings(
        admin_key=admin_key,
        host=host,
        port=port,
        data_dir=data_dir,
        antigravity_base_urls=[f"{base}/antigravity"],
        antigravity_discovery_url=f"{base}/antigravity",
        antigravity_oauth_token_url=f"{base}/oauth/token",
        antigravity_oauth_auth_url=f"{base}/oauth/o/oauth2/v2/auth",
        antigravity_userinfo_url=f"{base}/oauth/oauth2/v2/userinfo",
        antigravity_client_secret=DEMO_CLIENT_SECRET,
        gemini_web_ca_bundle=data_dir / "gemini-web-ca" / "ca.pem",
        gemini_web_poll_interval_s=1.0,  # the emulator's research and videos finish in seconds
        accounts_reload_interval_s=1.0,
    )


async def _seed(
    settings: Settings, oauth_app: Any, web_app: Any, proxy: GeminiWebProxy, api_key: str
) -> None:
    """Accounts in the emulators and the store under the same names, and the demo's client key."""
    store = await open_store(settings)
    try:
        for index in range(1, DEMO_ACCOUNTS + 1):
            name = f"antigravity-{index}"
            account = oauth_app.state.oauth.register(name)
            await accounts.add_account(
                store,
                provider="antigravity",
                name=name,
                secret={"refresh_token": account.refresh_token},
                email=account.email,
            )
        for index in range(1, DEMO_ACCOUNTS + 1):
            name = f"gemini-web-{index}"
            web = web_app.state.emulator.registry.register({"name": name, "tier": "pro"})
            await accounts.add_account(
                store,
                provider="gemini_web",
                name=name,
                secret={"psid": web.psid, "psidts": web.psidts},
                proxy_url=proxy.proxy_url,
            )
        await keys.create_key(store, "demo", keys.KeyLimits(), key=api_key)
    finally:
        await store.close()


def build_demo_app(host: str, port: int, data_dir: Path, api_key: str, admin_key: str) -> GatewayApp:
    settings = demo_settings(host, port, data_dir, admin_key)
    oauth_app = google_oauth.create_app()
    cloudcode_app = cloudcode.create_app()
    web_app = gemini_web.create_app()
    proxy = GeminiWebProxy(web_app, host=host, port=0, ca_dir=data_dir / "gemini-web-ca")

    @contextlib.asynccontextmanager
    async def before(app: FastAPI) -> AsyncIterator[None]:
        await proxy.start()
        await _seed(settings, oauth_app, web_app, proxy, api_key)
        try:
            yield
        finally:
            await proxy.stop()

    return create_app(
        settings,
        mounts={
            "/_emulator/oauth": oauth_app,
            "/_emulator/antigravity": cloudcode_app,
            "/_emulator/gemini-web": web_app,
        },
        extra_lifespan=before,
    )


def run_demo(host: str, port: int, api_key: str | None) -> None:
    key = api_key or keys.generate_key()
    admin_key = "sy-admin-" + secrets.token_urlsafe(24)
    data_dir = Path(tempfile.mkdtemp(prefix="switchyard-demo-"))
    app = build_demo_app(host, port, data_dir, key, admin_key)
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level="warning", loop="uvloop", http="httptools")
    )

    async def main() -> None:
        serving = asyncio.create_task(server.serve())
        while not server.started:
            if serving.done():
                serving.result()
                return
            await asyncio.sleep(0.02)
        print(
            f"switchyard demo ready: gateway=http://{host}:{port} control=http://{host}:{port}/_emulator key={key}",
            flush=True,
        )
        print(f"console: http://{host}:{port}/admin (admin key {admin_key})", file=sys.stderr, flush=True)
        await serving

    # uvicorn re-raises the SIGTERM it handled once it has shut down; with the default action that
    # kills the process before `finally` could delete the throw-away store (and its secret.key).
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    terminated = False
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    except _Terminated:
        terminated = True
    finally:
        signal.signal(signal.SIGTERM, previous)
        shutil.rmtree(data_dir, ignore_errors=True)
    if terminated:
        sys.exit(128 + signal.SIGTERM)
    if not server.started:
        sys.exit(1)


class _Terminated(Exception):
    """SIGTERM arrived (and uvicorn has already shut down gracefully)."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise _Terminated
