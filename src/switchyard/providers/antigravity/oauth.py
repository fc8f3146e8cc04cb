"""Google OAuth for Antigravity accounts: refreshing access tokens, and the login helpers.

An account is stored as a refresh token; every upstream call needs a one-hour access token. The
`TokenCache` refreshes it a few minutes before it expires (protocols §3: A2A and CPA refresh 5 min
early) and single-flights the refresh per account, so a burst of concurrent requests (or twenty
requests that all saw the same 401) costs one token request, not twenty — Google rate-limits the
token endpoint per client. `invalid_grant` is terminal: the user revoked access or the token expired,
and only a new login fixes it (field-notes §3.8: treating it as transient kept dead accounts
selectable for thousands of requests).

Secrets never reach a log line or an exception message: errors quote Google's error *code* only.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson

from switchyard.config import Settings
from switchyard.errors import (
    AccountDead,
    SwitchyardError,
    UpstreamBadRequest,
    UpstreamError,
    UpstreamRateLimited,
    UpstreamTransient,
)
from switchyard.providers import UpstreamAccount
from switchyard.shared.flight import SharedFlight

log = logging.getLogger(__name__)

SCOPES = tuple(
    f"https://www.googleapis.com/auth/{name}"
    for name in ("cloud-platform", "userinfo.email", "userinfo.profile", "cclog", "experimentsandconfigs")
)
"""What the Antigravity IDE asks for (protocols §3)."""

REFRESH_LEAD_S = 300.0
TOKEN_USER_AGENT = "Go-http-client/2.0"
"""The IDE refreshes with Go's default User-Agent (CPA-H); we look the same."""

INVALID_GRANT_REASON = "re-login needed: refresh token revoked or expired (invalid_grant)"


class OAuthClientNotConfigured(SwitchyardError):
    """503: the gateway lacks the OAuth client secret, or Google refused the client id/secret."""

    status = 503
    openai_type = "server_error"
    google_status = "UNAVAILABLE"
    default_code = "antigravity_not_configured"


@dataclass
class TokenGrant:
    """An access token and when to stop using it. `repr` never shows the tokens."""

    access_token: str = field(repr=False)
    expires_at: float
    refresh_at: float
    usable_until: float
    """Past `refresh_at` but before this, the token may still serve if a refresh fails transiently."""
    refresh_token: str | None = field(default=None, repr=False)
    """Set when Google rotated the refresh token (rare); the caller should persist it."""
    scope: str | None = None

    @classmethod
    def from_reply(cls, data: dict[str, Any], now: float | None = None) -> TokenGrant:
        """Read a token endpoint reply; the refresh point is 5 min early, or halfway for short tokens."""
        now = time.time() if now is None else now
        lifetime = float(data.get("expires_in") or 3599)
        return cls(
            access_token=str(data["access_token"]),
            expires_at=now + lifetime,
            refresh_at=now + lifetime - min(REFRESH_LEAD_S, lifetime / 2),
            usable_until=now + lifetime - min(30.0, lifetime / 10),
            refresh_token=data.get("refresh_token") or None,
            scope=data.get("scope"),
        )


def client_secret(settings: Settings) -> str:
    """The OAuth client secret; without it Google refuses every refresh, so say how to set it."""
    if (
        settings.antigravity_client_secret is None
        or not settings.antigravity_client_secret.get_secret_value()
    ):
        raise OAuthClientNotConfigured(
            "Antigravity is not configured: set SWITCHYARD_ANTIGRAVITY_CLIENT_SECRET to the Antigravity "
            "OAuth client secret (the refresh-token grant requires it)"
        )
    return settings.antigravity_client_secret.get_secret_value()


async def _token_request(http: httpx.AsyncClient, settings: Settings, form: dict[str, str]) -> dict[str, Any]:
    """POST a grant to the token endpoint; the reply JSON, or the classified error."""
    try:
        response = await http.post(
            settings.antigravity_oauth_token_url,
            data=form,
            headers={"User-Agent": TOKEN_USER_AGENT, "Accept": "application/json"},
        )
    except httpx.TransportError as exc:
        raise UpstreamTransient(f"Google OAuth token endpoint unreachable ({type(exc).__name__})") from None
    if response.status_code == 200:
        try:
            data = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            data = None
        if isinstance(data, dict) and data.get("access_token"):
            return data
        raise UpstreamTransient("Google OAuth token endpoint sent a reply without an access token")
    raise token_error(
        response.status_code, response.content, refreshing=form["grant_type"] == "refresh_token"
    )


def token_error(status: int, body: bytes, *, refreshing: bool) -> SwitchyardError:
    """Classify a token endpoint failure by its OAuth `error` code (RFC 6749 §5.2)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        data = None
    code = data.get("error") if isinstance(data, dict) else None
    code = code if isinstance(code, str) else None
    if code == "invalid_grant":
        if refreshing:
            return AccountDead(INVALID_GRANT_REASON, upstream_status=status, reason=INVALID_GRANT_REASON)
        return UpstreamBadRequest(
            "Google refused the authorization code (invalid_grant): it expired or was already used; log in again",
            upstream_status=status,
            reason="invalid_grant",
        )
    if code in {"invalid_client", "unauthorized_client"}:
        return OAuthClientNotConfigured(
            f"Google OAuth refused the client ({code}): check SWITCHYARD_ANTIGRAVITY_CLIENT_ID and "
            "SWITCHYARD_ANTIGRAVITY_CLIENT_SECRET"
        )
    if status == 429:
        return UpstreamRateLimited(
            "Google OAuth token endpoint rate limit", upstream_status=status, reason=code
        )
    detail = f" ({code})" if code else ""
    return UpstreamTransient(
        f"Google OAuth token endpoint failed: HTTP {status}{detail}", upstream_status=status
    )


async def refresh_access_token(http: httpx.AsyncClient, settings: Settings, refresh_token: str) -> TokenGrant:
    """One `refresh_token` grant (form POST, §3)."""
    form = {
        "client_id": settings.antigravity_client_id,
        "client_secret": client_secret(settings),
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
    }
    return TokenGrant.from_reply(await _token_request(http, settings, form))


def build_auth_url(settings: Settings, redirect_uri: str, state: str) -> str:
    """The consent URL for `switchyard accounts login antigravity`.

    `access_type=offline&prompt=consent` makes Google return a refresh token every time, even for a
    user who consented before.
    """
    query = urlencode(
        {
            "client_id": settings.antigravity_client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": " ".join(SCOPES),
            "access_type": "offline",
            "prompt": "consent",
            "state": state,
        }
    )
    return f"{settings.antigravity_oauth_auth_url}?{query}"


async def exchange_code(
    settings: Settings, code: str, redirect_uri: str, *, http: httpx.AsyncClient | None = None
) -> TokenGrant:
    """Trade the authorization code from the redirect for tokens; the grant carries the refresh token."""
    form = {
        "client_id": settings.antigravity_client_id,
        "client_secret": client_secret(settings),
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
    }
    async with _maybe_client(http, settings) as client:
        grant = TokenGrant.from_reply(await _token_request(client, settings, form))
    if grant.refresh_token is None:
        raise UpstreamBadRequest("Google returned no refresh token; log in again and grant offline access")
    return grant


async def fetch_userinfo(
    settings: Settings, access_token: str, *, http: httpx.AsyncClient | None = None
) -> dict[str, Any]:
    """The signed-in user's profile (`email`, `name`, ...), to name the account after login."""
    async with _maybe_client(http, settings) as client:
        try:
            response = await client.get(
                settings.antigravity_userinfo_url,
                params={"alt": "json"},
                headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
            )
        except httpx.TransportError as exc:
            raise UpstreamTransient(f"Google userinfo unreachable ({type(exc).__name__})") from None
    if response.status_code != 200:
        raise UpstreamTransient(
            f"Google userinfo failed: HTTP {response.status_code}", upstream_status=response.status_code
        )
    data = orjson.loads(response.content)
    if not isinstance(data, dict):
        raise UpstreamTransient("Google userinfo sent an unexpected reply")
    return data


class _maybe_client:
    """Use the caller's client, or a short-lived one the login flow closes afterwards."""

    def __init__(self, http: httpx.AsyncClient | None, settings: Settings) -> None:
        self._given = http
        self._own: httpx.AsyncClient | None = None
        self._timeout = settings.antigravity_request_timeout_s

    async def __aenter__(self) -> httpx.AsyncClient:
        if self._given is not None:
            return self._given
        self._own = httpx.AsyncClient(timeout=httpx.Timeout(min(self._timeout, 60.0)))
        return self._own

    async def __aexit__(self, *exc: object) -> None:
        if self._own is not None:
            await self._own.aclose()


Refresher = Callable[[UpstreamAccount], Awaitable[TokenGrant]]


def _cache_key(account: UpstreamAccount) -> tuple[int, str]:
    """Per account *and* per refresh token, so replacing the token (re-login) drops the old grant."""
    token = account.secret.get("refresh_token", "")
    return account.id, hashlib.sha256(token.encode()).hexdigest()[:16]


def _grant_fields(grant: TokenGrant) -> dict[str, str]:
    """What other instances need of a grant (never the refresh token: each reads its own from the store)."""
    return {
        "access_token": grant.access_token,
        "expires_at": repr(grant.expires_at),
        "refresh_at": repr(grant.refresh_at),
        "usable_until": repr(grant.usable_until),
        "scope": grant.scope or "",
    }


def _grant_of(fields: dict[str, str]) -> TokenGrant:
    return TokenGrant(
        access_token=fields["access_token"],
        expires_at=float(fields["expires_at"]),
        refresh_at=float(fields["refresh_at"]),
        usable_until=float(fields["usable_until"]),
        scope=fields.get("scope") or None,
    )


class TokenCache:
    """Access tokens per account, refreshed early and single-flighted: in this process, and across
    instances when `shared` is given (one refresh per account, the token shared through Redis)."""

    def __init__(self, refresher: Refresher, shared: SharedFlight | None = None) -> None:
        self._refresher = refresher
        self._shared = shared
        self._grants: dict[tuple[int, str], TokenGrant] = {}
        self._inflight: dict[tuple[int, str], asyncio.Future[TokenGrant]] = {}

    def cached(self, account: UpstreamAccount) -> TokenGrant | None:
        """The current grant, if any (for `check`, which reports the expiry)."""
        return self._grants.get(_cache_key(account))

    async def get(self, account: UpstreamAccount, *, stale: str | None = None) -> str:
        """A usable access token. `stale` is one the upstream just refused: never hand it back.

        Concurrent callers share one refresh; a caller that arrives after another already replaced
        the stale token gets the new one without a second refresh.
        """
        if not account.secret.get("refresh_token"):
            raise AccountDead("the account has no refresh token; log in again", reason="no refresh token")
        key = _cache_key(account)
        grant = self._grants.get(key)
        if grant is not None and grant.access_token != stale and time.time() < grant.refresh_at:
            return grant.access_token
        future = self._inflight.get(key)
        if future is None:
            future = asyncio.ensure_future(self._refresh(key, account, stale))
            self._inflight[key] = future
        try:
            grant = await asyncio.shield(future)
        except (UpstreamTransient, UpstreamRateLimited):
            # An early refresh that failed for a passing reason: the old token still works a while.
            if grant is not None and grant.access_token != stale and time.time() < grant.usable_until:
                return grant.access_token
            raise
        return grant.access_token

    async def _refresh(self, key: tuple[int, str], account: UpstreamAccount, stale: str | None) -> TokenGrant:
        try:
            grant = await self._fresh_grant(key, account, stale)
        except UpstreamError as exc:
            log.warning("token refresh failed for account %s: %s", account.name, exc.error_class)
            if isinstance(exc, AccountDead):
                self._grants.pop(key, None)
            raise
        finally:
            self._inflight.pop(key, None)
        self._grants[key] = grant
        log.debug("refreshed access token for account %s", account.name)
        return grant

    async def _fresh_grant(
        self, key: tuple[int, str], account: UpstreamAccount, stale: str | None
    ) -> TokenGrant:
        """A new grant: from the token endpoint, or from the instance that just asked it."""
        if self._shared is None:
            return await self._refresher(account)
        refreshed: list[TokenGrant] = []

        async def refresh() -> tuple[dict[str, str], float]:
            grant = await self._refresher(account)
            refreshed.append(grant)  # keeps `refresh_token`, should Google have rotated it
            return _grant_fields(grant), grant.usable_until - time.time()

        def usable(fields: dict[str, str]) -> bool:
            return fields.get("access_token") != stale and time.time() < float(fields.get("refresh_at", 0))

        fields = await self._shared.run(f"token:{key[0]}:{key[1]}", refresh, usable)
        return refreshed[0] if refreshed else _grant_of(fields)
