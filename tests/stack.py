"""The whole gateway on the emulators, on loopback: OAuth + Cloud Code emulators, the gateway, named accounts."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from switchyard.app import create_app
from switchyard.config import Settings
from switchyard.emulators.cloudcode import create_app as create_cloudcode
from switchyard.emulators.google_oauth import create_app as create_oauth
from switchyard.http_protocol import server_options
from switchyard.store import accounts
from tests.conftest import create_key, make_settings, run_with_store
from tests.servers import serve


@dataclass
class Stack:
    gateway: str
    oauth: str
    cloudcode: str
    settings: Settings
    account_names: list[str] = field(default_factory=list)

    def run(self, work: Any) -> Any:
        return run_with_store(self.settings, work)

    def create_key(self, name: str | None = None, **limits: Any) -> str:
        return create_key(self.settings, name, **limits)

    def add_account(self, name: str, *, user_agent: str | None = None, **cloudcode_options: Any) -> None:
        """Register the account with both emulators and add it to the gateway under the same name
        (with its own User-Agent, if given)."""
        token = httpx.post(f"{self.oauth}/_control/accounts", json={"name": name}).json()["refresh_token"]
        if cloudcode_options:
            httpx.post(
                f"{self.cloudcode}/_control/accounts", json={"name": name, **cloudcode_options}
            ).raise_for_status()
        self.run(
            lambda store: accounts.add_account(
                store,
                provider="antigravity",
                name=name,
                secret={"refresh_token": token},
                user_agent=user_agent,
            )
        )
        self.account_names.append(name)

    def upstream_requests(self, path_part: str = "") -> list[dict[str, Any]]:
        log = httpx.get(f"{self.cloudcode}/_control/requests").json()
        return [entry for entry in log if path_part in entry["path"]]

    def fault(self, fault: str, **spec: Any) -> None:
        httpx.post(f"{self.cloudcode}/_control/faults", json={"fault": fault, **spec}).raise_for_status()

    def reset(self) -> None:
        httpx.post(f"{self.cloudcode}/_control/reset").raise_for_status()
        httpx.post(f"{self.oauth}/_control/reset").raise_for_status()


@contextlib.contextmanager
def antigravity_stack(
    tmp_path: Path,
    accounts_count: int = 2,
    *,
    token_lifetime_s: float = 3599,
    front: Callable[[str], Any] | None = None,
    **settings_overrides: Any,
) -> Iterator[Stack]:
    """`front(cloudcode_url)`, if given, is an app served in front of the Cloud Code emulator for the
    generation calls (to script answers the emulator cannot give); discovery goes to the emulator."""
    with (
        serve(create_oauth(token_lifetime_s=token_lifetime_s)) as oauth,
        serve(create_cloudcode()) as cloudcode,
        serve(front(cloudcode)) if front else contextlib.nullcontext(cloudcode) as base_url,
    ):
        settings = make_settings(
            tmp_path,
            antigravity_base_urls=[base_url],
            antigravity_discovery_url=cloudcode,
            antigravity_oauth_token_url=f"{oauth}/token",
            antigravity_userinfo_url=f"{oauth}/oauth2/v2/userinfo",
            antigravity_oauth_auth_url=f"{oauth}/o/oauth2/v2/auth",
            accounts_reload_interval_s=0.0,
            **settings_overrides,
        )
        stack = Stack(gateway="", oauth=oauth, cloudcode=cloudcode, settings=settings)
        for index in range(1, accounts_count + 1):
            stack.add_account(f"antigravity-{index}")
        with serve(create_app(settings), **server_options(settings)) as gateway:
            stack.gateway = gateway
            yield stack
