"""Token refresh and the login helpers against the Google OAuth emulator over real HTTP."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from switchyard.errors import AccountDead, UpstreamTransient
from switchyard.providers.antigravity import AntigravityClient, OAuthClientNotConfigured
from switchyard.providers.antigravity.oauth import SCOPES, build_auth_url, exchange_code, fetch_userinfo

from .conftest import Emulator, oauth_settings, register_account

pytestmark = pytest.mark.anyio


async def test_refresh_sends_the_refresh_grant_and_caches_the_token(oauth: Emulator) -> None:
    account = register_account(oauth, "antigravity-1")
    client = AntigravityClient(oauth_settings(oauth))
    try:
        token = await client.access_token(account)
        assert token.startswith("ya29.")
        assert await client.access_token(account) == token
    finally:
        await client.aclose()
    [entry] = oauth.requests("/token")
    assert entry["account"] == "antigravity-1"
    form = entry["body"]
    assert form["grant_type"] == "refresh_token"
    assert form["client_id"].endswith(".apps.googleusercontent.com")
    assert form["client_secret"].endswith("cret")
    assert form["refresh_token"].endswith(account.secret["refresh_token"][-4:])
    assert entry["headers"]["content-type"] == "application/x-www-form-urlencoded"


async def test_twenty_concurrent_callers_share_one_refresh(oauth: Emulator) -> None:
    account = register_account(oauth, "antigravity-1")
    oauth.fault("delay_ms", delay_ms=300)
    client = AntigravityClient(oauth_settings(oauth))
    try:
        tokens = await asyncio.gather(*(client.access_token(account) for _ in range(20)))
    finally:
        await client.aclose()
    assert len(set(tokens)) == 1
    assert len(oauth.requests("/token")) == 1


async def test_short_lived_tokens_are_refreshed_before_expiry(oauth: Emulator) -> None:
    oauth.control("POST", "settings", {"token_lifetime_s": 2})
    account = register_account(oauth, "antigravity-1")
    client = AntigravityClient(oauth_settings(oauth))
    try:
        first = await client.access_token(account)
        assert await client.access_token(account) == first
        await asyncio.sleep(1.2)  # past the refresh point (half of a short lifetime)
        second = await client.access_token(account)
    finally:
        await client.aclose()
    assert second != first
    assert len(oauth.requests("/token")) == 2


async def test_invalid_grant_is_account_dead(oauth: Emulator) -> None:
    account = register_account(oauth, "antigravity-1")
    oauth.fault("invalid_grant", match={"account": "antigravity-1"})
    client = AntigravityClient(oauth_settings(oauth))
    try:
        with pytest.raises(AccountDead) as caught:
            await client.access_token(account)
    finally:
        await client.aclose()
    assert caught.value.reason == "re-login needed: refresh token revoked or expired (invalid_grant)"
    assert account.secret["refresh_token"] not in str(caught.value)


async def test_revoked_refresh_token_is_account_dead(oauth: Emulator) -> None:
    account = register_account(oauth, "antigravity-1")
    oauth.control("POST", "accounts/antigravity-1/revoke")
    client = AntigravityClient(oauth_settings(oauth))
    try:
        with pytest.raises(AccountDead, match="invalid_grant"):
            await client.access_token(account)
    finally:
        await client.aclose()


async def test_token_endpoint_failure_is_transient(oauth: Emulator) -> None:
    account = register_account(oauth, "antigravity-1")
    oauth.fault("server_error")
    client = AntigravityClient(oauth_settings(oauth))
    try:
        with pytest.raises(UpstreamTransient):
            await client.access_token(account)
        assert (await client.access_token(account)).startswith("ya29."), "a failed refresh is not cached"
    finally:
        await client.aclose()


async def test_missing_client_secret_is_a_clear_configuration_error(oauth: Emulator) -> None:
    account = register_account(oauth, "antigravity-1")
    client = AntigravityClient(oauth_settings(oauth, antigravity_client_secret=None))
    try:
        with pytest.raises(OAuthClientNotConfigured, match="SWITCHYARD_ANTIGRAVITY_CLIENT_SECRET"):
            await client.access_token(account)
    finally:
        await client.aclose()
    assert oauth.requests("/token") == []


async def test_login_flow(oauth: Emulator) -> None:
    oauth.control("POST", "accounts", {"name": "new-user", "email": "new-user@example.com"})
    settings = oauth_settings(oauth)
    redirect_uri = "http://localhost:51121/oauth-callback"
    url = build_auth_url(settings, redirect_uri, state="s-123")
    query = parse_qs(urlsplit(url).query)
    assert query["scope"] == [" ".join(SCOPES)]
    assert query["access_type"] == ["offline"] and query["prompt"] == ["consent"]
    async with httpx.AsyncClient() as http:
        consent = await http.get(url + "&login_hint=new-user%40example.com")
    assert consent.status_code == 302
    callback = parse_qs(urlsplit(consent.headers["location"]).query)
    assert callback["state"] == ["s-123"]
    grant = await exchange_code(settings, callback["code"][0], redirect_uri)
    assert grant.refresh_token
    assert "refresh_token" not in repr(grant) and grant.access_token not in repr(grant)
    profile = await fetch_userinfo(settings, grant.access_token)
    assert profile["email"] == "new-user@example.com"


async def test_a_failed_early_refresh_keeps_the_still_valid_token(oauth: Emulator) -> None:
    oauth.control("POST", "settings", {"token_lifetime_s": 3})
    account = register_account(oauth, "antigravity-1")
    client = AntigravityClient(oauth_settings(oauth))
    try:
        first = await client.access_token(account)
        await asyncio.sleep(1.7)  # past the refresh point (1.5 s), before expiry (3 s)
        oauth.fault("server_error")
        assert await client.access_token(account) == first
        assert len(oauth.requests("/token")) == 2, "the refresh was attempted"
        second = await client.access_token(account)
    finally:
        await client.aclose()
    assert second != first, "the next call refreshes again, successfully"
