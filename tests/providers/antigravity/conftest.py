"""Emulators on loopback for the Antigravity provider tests, and helpers to script them."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from switchyard.config import Settings
from switchyard.emulators.cloudcode import create_app as create_cloudcode_app
from switchyard.emulators.google_oauth import create_app as create_oauth_app
from switchyard.providers import UpstreamAccount
from tests.servers import serve


class Emulator:
    """One served emulator and its control API."""

    def __init__(self, base_url: str, verify: ssl.SSLContext | bool = True) -> None:
        self.url = base_url
        self.verify = verify
        """The CA bundle when the emulator is served over TLS."""

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = httpx.request(
            method, f"{self.url}/_control/{path}", json=body, timeout=10, verify=self.verify
        )
        assert response.status_code < 300, response.text
        return response.json()

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        log = self.control("GET", "requests")
        return [entry for entry in log if path is None or entry["path"] == path]

    def fault(self, fault: str, *, times: int = 1, **params: Any) -> None:
        match = params.pop("match", None)
        spec = {"fault": fault, "times": times, **params}
        if match:
            spec["match"] = match
        self.control("POST", "faults", spec)


@pytest.fixture
def oauth() -> Iterator[Emulator]:
    with serve(create_oauth_app()) as url:
        yield Emulator(url)


@pytest.fixture
def cloudcode() -> Iterator[Emulator]:
    with serve(create_cloudcode_app()) as url:
        yield Emulator(url)


@pytest.fixture
def cloudcode_2() -> Iterator[Emulator]:
    """A second Cloud Code host, for fallback tests."""
    with serve(create_cloudcode_app()) as url:
        yield Emulator(url)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def oauth_settings(oauth: Emulator, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "antigravity_oauth_token_url": oauth.url + "/token",
        "antigravity_oauth_auth_url": oauth.url + "/o/oauth2/v2/auth",
        "antigravity_userinfo_url": oauth.url + "/oauth2/v2/userinfo",
        "antigravity_client_secret": "test-secret",
        "antigravity_base_urls": ["http://127.0.0.1:9"],
        "antigravity_discovery_url": "http://127.0.0.1:9",
    }
    values.update(overrides)
    return Settings(**values)


def upstream_settings(oauth: Emulator, *hosts: Emulator | str, **overrides: Any) -> Settings:
    """Settings pointing at the OAuth emulator and the given Cloud Code hosts, in fallback order."""
    urls = [host if isinstance(host, str) else host.url for host in hosts]
    return oauth_settings(oauth, antigravity_base_urls=urls, antigravity_discovery_url=urls[-1], **overrides)


def register_account(oauth: Emulator, name: str, account_id: int = 1, **fields: Any) -> UpstreamAccount:
    """Create the Google user in the OAuth emulator; the gateway-side account that holds its token."""
    created = oauth.control("POST", "accounts", {"name": name, "email": f"{name}@example.com"})
    return UpstreamAccount(
        id=account_id,
        name=name,
        provider="antigravity",
        secret={"refresh_token": created["refresh_token"]},
        **fields,
    )
