"""Per-account proxies: one pooled client per proxy URL, and calls really going through the proxy."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from switchyard.config import Settings
from switchyard.emulators.cloudcode_catalogue import derive_project_id
from switchyard.errors import AccountDead
from switchyard.providers.antigravity import AntigravityClient
from switchyard.providers.antigravity.transport import http_clients
from tests.servers import serve

from .conftest import Emulator, register_account, upstream_settings

pytestmark = pytest.mark.anyio


async def test_one_client_per_proxy_url() -> None:
    clients = http_clients(Settings())
    try:
        direct = clients.get(None)
        assert clients.get("") is direct
        proxied = clients.get("http://proxy.example:3128")
        assert proxied is not direct
        assert clients.get("http://proxy.example:3128") is proxied
        assert clients.get("socks5://127.0.0.1:1080") is not proxied
    finally:
        await clients.aclose()


async def test_an_unusable_proxy_url_is_reported_without_its_credentials() -> None:
    clients = http_clients(Settings())
    with pytest.raises(AccountDead) as caught:
        clients.get("ftp://user:hunter2@proxy.example")
    assert "hunter2" not in str(caught.value)
    await clients.aclose()


def forward_proxy(seen: list[str]) -> Starlette:
    """A minimal plain-HTTP forward proxy: absolute-form requests are re-sent to their Host."""

    async def forward(request: Request) -> Response:
        host = request.headers["host"]
        seen.append(host)
        url = f"http://{host}{request.url.path}"
        if request.url.query:
            url += f"?{request.url.query}"
        headers = {
            k: v for k, v in request.headers.items() if k not in {"host", "content-length", "connection"}
        }
        async with httpx.AsyncClient() as http:
            upstream = await http.request(request.method, url, headers=headers, content=await request.body())
        drop = {"content-length", "content-encoding", "transfer-encoding", "connection"}
        return Response(
            upstream.content,
            status_code=upstream.status_code,
            headers={k: v for k, v in upstream.headers.items() if k not in drop},
        )

    return Starlette(routes=[Route("/{path:path}", forward, methods=["GET", "POST"])])


async def test_an_account_with_a_proxy_reaches_google_through_it(
    oauth: Emulator, cloudcode: Emulator
) -> None:
    seen: list[str] = []
    with serve(forward_proxy(seen)) as proxy_url:
        account = register_account(
            oauth, "antigravity-1", project_id=derive_project_id("antigravity-1"), proxy_url=proxy_url
        )
        direct = register_account(
            oauth, "antigravity-2", account_id=2, project_id=derive_project_id("antigravity-2")
        )
        client = AntigravityClient(upstream_settings(oauth, cloudcode))
        body: dict[str, Any] = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
        try:
            await client.generate(account, "gemini-2.5-flash", body)
            before = len(seen)
            await client.generate(direct, "gemini-2.5-flash", body)
        finally:
            await client.aclose()
    oauth_host = oauth.url.removeprefix("http://")
    cloudcode_host = cloudcode.url.removeprefix("http://")
    assert seen == [oauth_host, cloudcode_host], "token refresh and generate both go through the proxy"
    assert len(seen) == before, "the account without a proxy goes direct"
