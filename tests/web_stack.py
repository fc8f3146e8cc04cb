"""The gateway on the Gemini web emulator, on loopback: the emulator's HTTPS proxy (with its own CA),
the gateway trusting that CA, and `gemini-web-N` accounts registered with both under the same name.

The gateway drives the real, unmodified `gemini_webapi` client through the proxy, exactly as in
production; only the proxy URL and the CA bundle differ.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import openai

from switchyard.app import create_app
from switchyard.config import Settings
from switchyard.emulators.gemini_web import create_app as create_gemini_web
from switchyard.emulators.tls_proxy import GeminiWebProxy
from switchyard.store import accounts
from tests.conftest import create_key, make_settings, run_with_store
from tests.servers import serve

GENERATE_SUFFIX = "StreamGenerate"


@dataclass
class WebStack:
    gateway: str
    proxy: GeminiWebProxy
    control: httpx.Client
    settings: Settings
    key: str = ""
    account_names: list[str] = field(default_factory=list)
    _clients: list[openai.OpenAI] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"{self.gateway}/gemini_official/v1"

    def client(self, **options: Any) -> openai.OpenAI:
        """An SDK client on the gateway, closed with the stack (so no socket outlives the test)."""
        client = openai.OpenAI(base_url=self.base_url, api_key=self.key, max_retries=0, timeout=60, **options)
        self._clients.append(client)
        return client

    def close_clients(self) -> None:
        for client in self._clients:
            client.close()
        self._clients.clear()

    def run(self, work: Any) -> Any:
        return run_with_store(self.settings, work)

    def add_account(self, name: str, tier: str = "free") -> dict[str, Any]:
        """Register the account with the emulator and add it to the gateway under the same name."""
        created = self.control.post("/_control/accounts", json={"name": name, "tier": tier})
        created.raise_for_status()
        cookies = created.json()
        secret = {"psid": cookies["psid"], "psidts": cookies["psidts"]}
        self.run(
            lambda store: accounts.add_account(
                store, provider="gemini_web", name=name, secret=secret, proxy_url=self.proxy.proxy_url
            )
        )
        self.account_names.append(name)
        return dict(cookies)

    def requests(self, account: str | None = None) -> list[dict[str, Any]]:
        log = self.control.get("/_control/requests").json()
        return [entry for entry in log if account is None or entry["account"] == account]

    def generate_requests(self, account: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.requests(account) if r["path"].endswith(GENERATE_SUFFIX)]

    def fault(self, fault: str, **spec: Any) -> None:
        self.control.post("/_control/faults", json={"fault": fault, **spec}).raise_for_status()

    def reset(self) -> None:
        self.control.post("/_control/reset").raise_for_status()

    def account(self, name: str) -> Any:
        listed = self.run(lambda store: accounts.list_accounts(store, "gemini_web"))
        return next(a for a in listed if a.name == name)


@contextlib.contextmanager
def emulator_proxy(tmp_path: Path, **emulator_options: Any) -> Iterator[tuple[GeminiWebProxy, httpx.Client]]:
    options = {"frame_delay_s": 0.01, "research_delay_s": 0.3, "video_delay_s": 1.0, **emulator_options}
    proxy = GeminiWebProxy(create_gemini_web(**options), ca_dir=tmp_path / "ca")
    with proxy.running_in_thread(), httpx.Client(base_url=proxy.proxy_url, timeout=10) as control:
        yield proxy, control


@contextlib.contextmanager
def serve_gateway(settings: Settings) -> Iterator[str]:
    with serve(create_app(settings)) as gateway:
        yield gateway


@contextlib.contextmanager
def web_stack(
    tmp_path: Path, accounts_count: int = 2, tier: str = "free", **settings_overrides: Any
) -> Iterator[WebStack]:
    """The emulator, the gateway and `gemini-web-1..N`; the library's cookie cache kept private."""
    previous = os.environ.get("GEMINI_COOKIE_PATH")
    os.environ["GEMINI_COOKIE_PATH"] = str(tmp_path / "library-cookies")
    try:
        with emulator_proxy(tmp_path) as (proxy, control):
            settings = make_settings(
                tmp_path,
                gemini_web_ca_bundle=proxy.ca_path,
                accounts_reload_interval_s=0.0,
                **settings_overrides,
            )
            stack = WebStack(gateway="", proxy=proxy, control=control, settings=settings)
            for index in range(1, accounts_count + 1):
                stack.add_account(f"gemini-web-{index}", tier=tier)
            stack.key = create_key(settings)
            with serve_gateway(settings) as gateway:
                stack.gateway = gateway
                try:
                    yield stack
                finally:
                    stack.close_clients()
    finally:
        if previous is None:
            os.environ.pop("GEMINI_COOKIE_PATH", None)
        else:
            os.environ["GEMINI_COOKIE_PATH"] = previous
