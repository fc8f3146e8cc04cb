"""A faithful fake of Google's OAuth endpoints, for tests, `switchyard demo` and users' CI.

Written from protocols/antigravity.md §3 and §10, never from the gateway. The paths are Google's own,
so only the base URL differs from production:

    GET  /o/oauth2/v2/auth           authorization endpoint (auto-consent, or a small consent page)
    POST /o/oauth2/v2/auth/approve   the consent page's "Allow"/"Cancel" form
    POST /token                      authorization_code and refresh_token grants (form-encoded)
    GET  /oauth2/v2/userinfo         (and /oauth2/v1/userinfo) the signed-in user, by Bearer token
    POST /revoke?token=...           revoke a refresh token (or the grant behind an access token)

Control API, besides base.py's faults/requests/reset (reset keeps the accounts):

    POST /_control/accounts     {"name", "email"?, "refresh_token"?, "scope"?} -> {name, email, refresh_token}
    GET  /_control/accounts     the accounts, refresh tokens masked
    POST /_control/accounts/{name}/revoke
    GET|POST /_control/settings {"token_lifetime_s"?, "auto_consent"?}

Faults (matched on `account`, the name the refresh token or code belongs to) act on `POST /token`:
`invalid_grant` (refused once, the token stays valid), `server_error` (500), `delay_ms`.
Access tokens come from `tokens.issue_access_token`, so the Cloud Code emulator can verify them.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from switchyard.emulators.base import (
    SECRET_FIELDS,
    EmulatorState,
    apply_delay,
    control_routes,
    mask,
    read_body,
)
from switchyard.emulators.google_oauth_accounts import (
    DEFAULT_PICTURE,
    Account,
    AuthRequest,
    OAuthDirectory,
    account_control_routes,
    id_token,
)
from switchyard.emulators.tokens import bearer_token, issue_access_token, read_access_token

KNOWN_FAULTS = frozenset({"invalid_grant", "server_error", "delay_ms"})
NO_STORE = {"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate", "Pragma": "no-cache"}
MISSING_CREDENTIAL = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie "
    "or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
)
INVALID_CREDENTIAL = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
    "or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
)
AUTH_PARAMS_REQUIRED = ("client_id", "redirect_uri", "response_type", "scope")


def create_app(
    *, token_lifetime_s: float = 3599, auto_consent: bool = True, client_ids: Iterable[str] | None = None
) -> Starlette:
    """Build the emulator. `client_ids=None` accepts any non-empty client id, as a catch-all fake should."""
    state = EmulatorState(name="google-oauth", known_faults=KNOWN_FAULTS)
    directory = OAuthDirectory(
        token_lifetime_s=token_lifetime_s,
        auto_consent=auto_consent,
        client_ids=frozenset(client_ids) if client_ids is not None else None,
    )
    endpoints = GoogleOAuthEndpoints(state, directory)
    app = Starlette(routes=[*endpoints.routes(), *control_routes(state), *account_control_routes(directory)])
    app.state.emulator = state
    app.state.oauth = directory
    return app


# --- responses in Google's shapes ------------------------------------------------------------


def oauth_error(status: int, error: str, description: str) -> JSONResponse:
    """The token endpoint's error body (RFC 6749 §5.2, as Google words it)."""
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=NO_STORE
    )


def unauthenticated(message: str) -> JSONResponse:
    """The Google API error body userinfo answers for a missing or bad Bearer token."""
    body = {"error": {"code": 401, "message": message, "status": "UNAUTHENTICATED"}}
    headers = {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'}
    return JSONResponse(body, status_code=401, headers=headers)


def error_page(status: int, error: str, detail: str) -> HTMLResponse:
    """The page Google shows instead of redirecting when the authorization request itself is bad."""
    title = f"Error {status}: {error}"
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body>"
        "<h1>Access blocked: Authorization Error</h1>"
        f'<p id="error">{html.escape(title)}</p><p id="detail">{html.escape(detail)}</p>'
        "</body></html>"
    )
    return HTMLResponse(page, status_code=status)


def consent_page(account: Account, request: AuthRequest, consent_id: str) -> HTMLResponse:
    """A small stand-in for Google's consent screen; the form posts to `auth/approve` relative to the
    page, so it works unchanged when the emulator is mounted under a prefix (`/_emulator/oauth/`)."""
    scopes = "".join(f"<li>{html.escape(scope)}</li>" for scope in request.scope.split())
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>Sign in - Google Accounts (emulator)</title></head><body>"
        "<h1>Sign in with Google</h1>"
        f'<p id="account">{html.escape(account.email)}</p>'
        f'<p><span id="client">{html.escape(request.client_id)}</span>'
        " wants to access your Google Account</p>"
        f'<ul id="scopes">{scopes}</ul>'
        '<form method="post" action="auth/approve">'
        f'<input type="hidden" name="consent_id" value="{html.escape(consent_id)}">'
        '<button type="submit" id="deny" name="action" value="deny">Cancel</button> '
        '<button type="submit" id="allow" name="action" value="allow">Allow</button>'
        "</form></body></html>"
    )
    return HTMLResponse(page)


def redirect_back(redirect_uri: str, params: Mapping[str, str | None]) -> RedirectResponse:
    """302 to the client's redirect URI with `params` appended to any query it already has."""
    parts = urlsplit(redirect_uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(key, value) for key, value in params.items() if value is not None]
    return RedirectResponse(
        urlunsplit(parts._replace(query=urlencode(query, quote_via=quote))), status_code=302
    )


def form_fields(body: Any) -> dict[str, str]:
    """The token endpoint's parameters, whether sent form-encoded (the norm), as JSON, or untyped."""
    if isinstance(body, dict):
        return {str(key): str(value) for key, value in body.items() if value is not None}
    if isinstance(body, str):
        return dict(parse_qsl(body, keep_blank_values=True))
    return {}


def masked_query(request: Request) -> dict[str, Any]:
    """The log's `query`, secrets masked: `/revoke?token=` and `?access_token=` carry live credentials."""
    secret = SECRET_FIELDS | {"token"}
    return {"query": {k: mask(v) if k in secret else v for k, v in request.query_params.items()}}


# --- the OAuth endpoints ------------------------------------------------------------------------


class GoogleOAuthEndpoints:
    """The handlers, bound to one emulator's state so several emulators can run in one process."""

    def __init__(self, state: EmulatorState, directory: OAuthDirectory) -> None:
        self.state = state
        self.directory = directory

    def routes(self) -> list[Route]:
        return [
            Route("/o/oauth2/v2/auth", self.authorize, methods=["GET"]),
            Route("/o/oauth2/v2/auth/approve", self.approve, methods=["POST"]),
            Route("/token", self.token, methods=["POST"]),
            Route("/oauth2/v2/userinfo", self.userinfo, methods=["GET"]),
            Route("/oauth2/v1/userinfo", self.userinfo, methods=["GET"]),
            Route("/revoke", self.revoke, methods=["POST"]),
        ]

    def _record(self, request: Request, account: str | None, body: Any = None) -> None:
        self.state.record(request, account=account, body=body, extra=masked_query(request))

    # authorization endpoint

    async def authorize(self, request: Request) -> Response:
        params = request.query_params
        problem = self._check_auth_request(params)
        if problem is not None:
            self._record(request, None)
            return problem
        account = self.directory.signing_in(params.get("login_hint"))
        self._record(request, account.name)
        auth_request = AuthRequest(
            client_id=params["client_id"],
            redirect_uri=params["redirect_uri"],
            scope=params["scope"],
            state=params.get("state"),
            offline=params.get("access_type") == "offline",
            account_name=account.name,
        )
        if self.directory.auto_consent:
            return self._grant(auth_request)
        return consent_page(account, auth_request, self.directory.await_consent(auth_request))

    def _check_auth_request(self, params: Mapping[str, str]) -> Response | None:
        """Google validates before any redirect: a bad request gets an error page, never a callback."""
        for name in AUTH_PARAMS_REQUIRED:
            if not params.get(name):
                return error_page(400, "invalid_request", f"Missing required parameter: {name}")
            if name == "client_id" and not self.directory.client_known(params[name]):
                return error_page(401, "invalid_client", "The OAuth client was not found.")
        if params["response_type"] != "code":
            detail = (
                f"Unsupported response_type: {params['response_type']} (the emulator implements code only)"
            )
            return error_page(400, "unsupported_response_type", detail)
        return None

    async def approve(self, request: Request) -> Response:
        form = form_fields(await read_body(request))
        auth_request = self.directory.take_consent(form.get("consent_id", ""))
        self._record(request, auth_request.account_name if auth_request else None, form)
        if auth_request is None:
            return error_page(
                400, "invalid_request", "This sign-in request is unknown or was already answered."
            )
        if form.get("action") != "allow":
            return redirect_back(
                auth_request.redirect_uri, {"error": "access_denied", "state": auth_request.state}
            )
        return self._grant(auth_request)

    def _grant(self, auth_request: AuthRequest) -> Response:
        code = self.directory.grant_code(auth_request)
        params = {"state": auth_request.state, "code": code, "scope": auth_request.scope}
        return redirect_back(auth_request.redirect_uri, {**params, "authuser": "0", "prompt": "consent"})

    # token endpoint

    async def token(self, request: Request) -> Response:
        body = await read_body(request)
        form = form_fields(body)
        grant_type = form.get("grant_type", "")
        account_name = self._account_behind(grant_type, form)
        # Log parsed fields, never raw text: the log masks secrets by field name only.
        self._record(request, account_name, body if isinstance(body, dict) else form or None)
        problem = self._check_client(form)
        if problem is None and grant_type not in ("authorization_code", "refresh_token"):
            problem = oauth_error(400, "unsupported_grant_type", f"Invalid grant_type: {grant_type}")
        if problem is None:
            problem = await self._scripted_fault(account_name)
        if problem is not None:
            return problem
        if grant_type == "refresh_token":
            return self._refresh(form)
        return self._exchange_code(form)

    def _account_behind(self, grant_type: str, form: Mapping[str, str]) -> str | None:
        """The account a token request is about, for the log and for matching faults."""
        if grant_type == "refresh_token":
            account = self.directory.by_refresh_token(form.get("refresh_token", ""))
            return account.name if account else None
        if grant_type == "authorization_code":
            auth_request = self.directory.peek_code(form.get("code", ""))
            return auth_request.account_name if auth_request else None
        return None

    def _check_client(self, form: Mapping[str, str]) -> Response | None:
        client_id = form.get("client_id", "")
        if not client_id:
            return oauth_error(400, "invalid_request", "Could not determine client ID from request.")
        if not self.directory.client_known(client_id):
            return oauth_error(401, "invalid_client", "The OAuth client was not found.")
        if not form.get("client_secret"):
            return oauth_error(400, "invalid_request", "client_secret is missing.")
        return None

    async def _scripted_fault(self, account_name: str | None) -> Response | None:
        fault = self.state.take_fault(account_name, None)
        await apply_delay(fault)
        if fault is None or fault.fault == "delay_ms":
            return None
        if fault.fault == "server_error":
            return JSONResponse({"error": "internal_failure"}, status_code=500, headers=NO_STORE)
        return oauth_error(400, "invalid_grant", "Token has been expired or revoked.")

    def _access_token(self, account: Account) -> dict[str, Any]:
        lifetime = self.directory.token_lifetime_s
        return {
            "access_token": issue_access_token(account.name, account.email, lifetime),
            "expires_in": int(lifetime),
        }

    def _refresh(self, form: Mapping[str, str]) -> Response:
        refresh_token = form.get("refresh_token", "")
        if not refresh_token:
            return oauth_error(400, "invalid_request", "Missing required parameter: refresh_token")
        account = self.directory.by_refresh_token(refresh_token)
        if account is None:
            return oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
        reply = {**self._access_token(account), "scope": account.scope, "token_type": "Bearer"}
        return JSONResponse(reply, headers=NO_STORE)

    def _exchange_code(self, form: Mapping[str, str]) -> Response:
        code, redirect_uri = form.get("code", ""), form.get("redirect_uri", "")
        for name, value in (("code", code), ("redirect_uri", redirect_uri)):
            if not value:
                return oauth_error(400, "invalid_request", f"Missing required parameter: {name}")
        auth_request = self.directory.peek_code(code)
        if auth_request is None:
            return oauth_error(400, "invalid_grant", "Bad Request")
        if auth_request.client_id != form["client_id"]:
            return oauth_error(401, "unauthorized_client", "Unauthorized")
        if auth_request.redirect_uri != redirect_uri:
            return oauth_error(400, "redirect_uri_mismatch", "Bad Request")
        account = self.directory.redeem_code(code)
        if account is None:
            return oauth_error(400, "invalid_grant", "Bad Request")
        return JSONResponse(self._code_reply(account, auth_request), headers=NO_STORE)

    def _code_reply(self, account: Account, auth_request: AuthRequest) -> dict[str, Any]:
        """Google hands out a refresh token only for `access_type=offline`, an id_token only for `openid`."""
        reply = self._access_token(account)
        if auth_request.offline:
            reply["refresh_token"] = account.refresh_token
        reply |= {"scope": auth_request.scope, "token_type": "Bearer"}
        if "openid" in auth_request.scope.split():
            reply["id_token"] = id_token(account, auth_request.client_id, self.directory.token_lifetime_s)
        return reply

    # userinfo and revoke

    async def userinfo(self, request: Request) -> Response:
        raw = bearer_token(request.headers.get("authorization")) or request.query_params.get("access_token")
        token = read_access_token(raw) if raw else None
        known = self.directory.accounts.get(token.account) if token else None
        self._record(request, token.account if token else None)
        if raw is None:
            return unauthenticated(MISSING_CREDENTIAL)
        if token is None or token.expired or (known is not None and known.revoked):
            return unauthenticated(INVALID_CREDENTIAL)
        # A token minted by another emulator sharing the secret still names its user.
        account = known or Account(name=token.account, email=token.email, refresh_token="")
        return JSONResponse(
            {
                "id": account.google_id,
                "email": account.email,
                "verified_email": True,
                "name": account.name,
                "given_name": account.given_name,
                "picture": DEFAULT_PICTURE,
            }
        )

    async def revoke(self, request: Request) -> Response:
        """Revoking either token ends the grant, as at Google: the refresh token stops working."""
        form = form_fields(await read_body(request))
        raw = request.query_params.get("token") or form.get("token", "")
        account = self._account_of_any_token(raw)
        logged = {k: mask(v) if k == "token" else v for k, v in form.items()}
        self._record(request, account.name if account else None, logged or None)
        if not raw:
            return oauth_error(400, "invalid_request", "Missing required parameter: token")
        if account is None:
            return oauth_error(400, "invalid_token", "Token expired or revoked")
        self.directory.revoke(account.name)
        return JSONResponse({})

    def _account_of_any_token(self, raw: str) -> Account | None:
        if not raw:
            return None
        account = self.directory.by_refresh_token(raw)
        if account is not None:
            return account
        token = read_access_token(raw)
        known = self.directory.accounts.get(token.account) if token and not token.expired else None
        return known if known is not None and not known.revoked else None
