"""`switchyard accounts login antigravity`: the installed-app OAuth authorization-code flow.

The Antigravity OAuth client is a Google "installed app" client, so Google only redirects to a
loopback address: the IDE (and CLIProxyAPI) listen on `http://localhost:51121/oauth-callback`
(protocols/antigravity.md §3). We do the same: open a tiny one-purpose HTTP server there, send the
user to the consent URL, wait for Google's redirect carrying `code` and our random `state`, trade the
code for a refresh token, and read the email to name the account.

The pieces are separate so the admin console can reuse them without a local server: `new_login`
(URL and state), `code_from_callback` (the code from a pasted callback URL, state verified) and
`finish_login` (exchange, userinfo, store).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

from switchyard.accounts import service
from switchyard.config import Settings
from switchyard.providers.antigravity import build_auth_url, exchange_code, fetch_userinfo
from switchyard.providers.antigravity.oauth import client_secret
from switchyard.store import accounts as repository
from switchyard.store.accounts import AccountPublic
from switchyard.store.db import Store

CALLBACK_PATH = "/oauth-callback"
DEFAULT_CALLBACK_PORT = 51121
DEFAULT_TIMEOUT_S = 300.0
READ_TIMEOUT_S = 10.0


class LoginFailed(Exception):
    """The login cannot finish; the message says what to do next."""


class StateMismatch(LoginFailed):
    """A callback from another login attempt (or a forged one)."""


@dataclass(frozen=True)
class LoginRequest:
    """Where to send the user, and what the callback must echo back."""

    auth_url: str
    redirect_uri: str
    state: str


@dataclass
class LoginOutcome:
    account: AccountPublic
    created: bool
    """False when an existing account (same name, or same email) got the new refresh token."""


def redirect_uri_for(port: int) -> str:
    return f"http://localhost:{port}{CALLBACK_PATH}"


def new_login(settings: Settings, redirect_uri: str, *, login_hint: str | None = None) -> LoginRequest:
    """The consent URL with a fresh random `state`; raises `OAuthClientNotConfigured` early, before
    the user spends a minute in the browser only to fail at the code exchange."""
    client_secret(settings)
    state = secrets.token_urlsafe(24)
    url = build_auth_url(settings, redirect_uri, state)
    if login_hint:  # re-login: Google preselects the account
        url += "&" + urlencode({"login_hint": login_hint})
    return LoginRequest(auth_url=url, redirect_uri=redirect_uri, state=state)


def code_from_callback(callback: str, expected_state: str) -> str:
    """The authorization code in a callback URL (or its query string), after checking `state`."""
    query = urlsplit(callback).query if "?" in callback or "://" in callback else callback
    params = {key: values[0] for key, values in parse_qs(query).items()}
    if params.get("error"):
        raise LoginFailed(f"Google did not grant access ({params['error']}); run the login again")
    if params.get("state") != expected_state:
        raise StateMismatch("the callback belongs to another login attempt (state mismatch)")
    code = params.get("code")
    if not code:
        raise LoginFailed("the callback carries no authorization code; run the login again")
    return code


async def finish_login(
    store: Store,
    settings: Settings,
    *,
    code: str,
    redirect_uri: str,
    name: str | None = None,
    proxy_url: str | None = None,
) -> LoginOutcome:
    """Exchange the code, read the email, then store the refresh token.

    An existing account gets the new token (and loses its `dead` mark) when `name` names it, or, with
    no name, when an Antigravity account has the same email: re-login repairs, it does not duplicate.
    """
    repository.validate_proxy(proxy_url)
    grant = await exchange_code(settings, code, redirect_uri)
    profile = await fetch_userinfo(settings, grant.access_token)
    email = profile.get("email") if isinstance(profile.get("email"), str) else None
    refresh_token = grant.refresh_token or ""
    existing = await _existing(store, name, email)
    if existing is None:
        account = await service.add_antigravity(
            store, refresh_token=refresh_token, name=name, proxy_url=proxy_url, email=email
        )
        return LoginOutcome(account, created=True)
    changes: dict[str, object] = {
        "secret": {"refresh_token": refresh_token},
        "email": email or existing.email,
        "status": "active",
        "status_reason": None,
        "status_url": None,
        "last_error": None,
    }
    if proxy_url:
        changes["proxy_url"] = proxy_url
    return LoginOutcome(await repository.update_account(store, existing.name, **changes), created=False)


async def _existing(store: Store, name: str | None, email: str | None) -> AccountPublic | None:
    accounts = await repository.list_accounts(store)
    if name:
        found = next((a for a in accounts if a.name == name), None)
        if found is not None and found.provider != "antigravity":
            raise LoginFailed(f"account {name!r} is a {service.display_provider(found.provider)} account")
        return found
    if email:
        wanted = email.lower()
        return next(
            (a for a in accounts if a.provider == "antigravity" and (a.email or "").lower() == wanted), None
        )
    return None


async def login_hint_for(store: Store, name: str | None) -> str | None:
    """The stored email of the account being logged in again, if any."""
    if not name:
        return None
    found = next((a for a in await repository.list_accounts(store) if a.name == name), None)
    return found.email if found is not None else None


# --- the loopback callback server ---------------------------------------------------------------


def _page(status: str, title: str, text: str) -> bytes:
    body = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>"
    ).encode()
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n"
    )
    return head.encode() + body


class CallbackServer:
    """Answers `GET /oauth-callback` until one carries our state and a code (or an error).

    A callback with another state is answered 400 and ignored, so a stale tab from an earlier attempt
    cannot end this one, nor can a page that guesses the port.
    """

    def __init__(self, state: str) -> None:
        self.state = state
        self.result: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._server: asyncio.Server | None = None

    async def listen(self, port: int, host: str = "127.0.0.1") -> None:
        try:
            self._server = await asyncio.start_server(self._handle, host, port)
        except OSError as exc:
            raise LoginFailed(
                f"cannot listen on {host}:{port} for the OAuth callback ({exc.strerror or exc}); "
                "free the port or pass --port N"
            ) from None

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def wait(self, timeout_s: float) -> str:
        try:
            async with asyncio.timeout(timeout_s):
                return await asyncio.shield(self.result)
        except TimeoutError:
            raise LoginFailed(
                f"no sign-in came back within {timeout_s:.0f} s; run the login again "
                "(on a remote server, forward the callback port first: see docs/credentials.md)"
            ) from None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(READ_TIMEOUT_S):
                request_line = await reader.readline()
                while (await reader.readline()).strip():
                    pass  # headers: nothing in them matters here
            writer.write(self._answer(request_line.decode("latin-1")))
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _answer(self, request_line: str) -> bytes:
        parts = request_line.split()
        if len(parts) < 2 or parts[0] != "GET":
            return _page("405 Method Not Allowed", "Not here", "This server only takes the sign-in callback.")
        target = urlsplit(parts[1])
        if target.path != CALLBACK_PATH:
            return _page("404 Not Found", "Not here", "This server only takes the sign-in callback.")
        if self.result.done():
            return _page("200 OK", "Already signed in", "You can close this tab.")
        try:
            code = code_from_callback(target.query, self.state)
        except StateMismatch as exc:
            return _page("400 Bad Request", "Wrong sign-in attempt", str(exc))
        except LoginFailed as exc:
            self.result.set_exception(exc)
            return _page("200 OK", "Sign-in not completed", str(exc))
        self.result.set_result(code)
        return _page("200 OK", "Signed in", "Switchyard got the sign-in. You can close this tab.")
