"""What the Google OAuth emulator remembers — accounts, pending consents, authorization codes — and
the `/_control/accounts` and `/_control/settings` routes through which tests and the demo script it.

Kept apart from Google's own endpoints (`google_oauth.py`) so the rules of the grant — a code is
single-use and bound to its client and redirect URI, a revoked refresh token stays dead until the
user signs in again — read without request parsing around them. Everything lives in memory on one
event loop, so nothing here locks.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from switchyard.emulators.base import mask

ANTIGRAVITY_SCOPES = " ".join(
    f"https://www.googleapis.com/auth/{scope}"
    for scope in ("cloud-platform", "userinfo.email", "userinfo.profile", "cclog", "experimentsandconfigs")
)
"""The scope a registered account is granted by default: Antigravity's (protocols/antigravity.md §3)."""

CODE_LIFETIME_S = 600.0
"""Google's authorization codes are short-lived; ten minutes is generous and keeps stale codes few."""

DEFAULT_PICTURE = "https://lh3.googleusercontent.com/a/default-user=s96-c"


def new_refresh_token() -> str:
    """A refresh token shaped like Google's (`1//0` then ~100 url-safe characters), so length checks pass."""
    return "1//0" + secrets.token_urlsafe(75)[:99]


def new_authorization_code() -> str:
    """An authorization code shaped like Google's (`4/0A...`)."""
    return "4/0A" + secrets.token_urlsafe(54)[:69]


@dataclass
class Account:
    """One emulated Google user and the single refresh token the emulator has granted it."""

    name: str
    email: str
    refresh_token: str
    scope: str = ANTIGRAVITY_SCOPES
    revoked: bool = False

    @property
    def google_id(self) -> str:
        """Google's stable numeric user id (21 digits), derived from the name so it survives restarts."""
        digest = int.from_bytes(hashlib.sha256(self.name.encode()).digest()[:16], "big")
        return "1" + str(digest % 10**20).zfill(20)

    @property
    def given_name(self) -> str:
        return self.name.split("-")[0].split(".")[0].capitalize() or self.name


@dataclass(frozen=True)
class AuthRequest:
    """The parameters of one authorization request, kept until consent turns them into a code."""

    client_id: str
    redirect_uri: str
    scope: str
    state: str | None
    offline: bool
    account_name: str


@dataclass(frozen=True)
class AuthCode:
    """A granted authorization code; `request` is what the code must be redeemed against."""

    request: AuthRequest
    expires_at: float


class AccountConflict(ValueError):
    """Registering would make a refresh token or an email ambiguous."""


@dataclass
class OAuthDirectory:
    """Accounts by name, plus the in-flight consents and codes of the authorization-code flow."""

    token_lifetime_s: float
    auto_consent: bool
    client_ids: frozenset[str] | None = None
    accounts: dict[str, Account] = field(default_factory=dict)
    consents: dict[str, AuthRequest] = field(default_factory=dict)
    codes: dict[str, AuthCode] = field(default_factory=dict)
    _created: int = 0

    def client_known(self, client_id: str) -> bool:
        """Google knows its clients; the emulator accepts any unless a set was configured."""
        return bool(client_id) and (self.client_ids is None or client_id in self.client_ids)

    # --- accounts ---------------------------------------------------------------------------

    def register(
        self, name: str, email: str | None = None, refresh_token: str | None = None, scope: str | None = None
    ) -> Account:
        """Add an account, or update the one of that name (idempotent, so CI can re-run its setup).

        Re-registering keeps the existing refresh token unless a new one is given, and lifts a revocation.
        """
        email = email or f"{name}@example.com"
        self._refuse_conflicts(name, email, refresh_token)
        account = self.accounts.get(name)
        if account is None:
            account = Account(name=name, email=email, refresh_token=refresh_token or new_refresh_token())
            self.accounts[name] = account
        else:
            account.email = email
            account.refresh_token = refresh_token or account.refresh_token
            account.revoked = False
        if scope:
            account.scope = scope
        return account

    def _refuse_conflicts(self, name: str, email: str, refresh_token: str | None) -> None:
        for other in self.accounts.values():
            if other.name == name:
                continue
            if other.email.lower() == email.lower():
                raise AccountConflict(f"email {email!r} already belongs to account {other.name!r}")
            if refresh_token and other.refresh_token == refresh_token:
                raise AccountConflict(f"that refresh token already belongs to account {other.name!r}")

    def by_email(self, email: str) -> Account | None:
        wanted = email.lower()
        return next((a for a in self.accounts.values() if a.email.lower() == wanted), None)

    def by_refresh_token(self, refresh_token: str) -> Account | None:
        """The account a live refresh token belongs to; revoked tokens belong to no one."""
        for account in self.accounts.values():
            if not account.revoked and hmac.compare_digest(account.refresh_token, refresh_token):
                return account
        return None

    def signing_in(self, login_hint: str | None) -> Account:
        """The account a browser sign-in lands on: the hinted one if known, else a brand-new user."""
        if login_hint:
            existing = self.by_email(login_hint)
            if existing is not None:
                return existing
        hinted_email = login_hint if login_hint and "@" in login_hint else None
        name = hinted_email.split("@")[0] if hinted_email else ""
        if not name or name in self.accounts:
            name = self._next_user_name()
        return self.register(name, email=hinted_email)

    def _next_user_name(self) -> str:
        while True:
            self._created += 1
            name = f"user-{self._created}"
            if name not in self.accounts:
                return name

    def revoke(self, name: str) -> bool:
        account = self.accounts.get(name)
        if account is None:
            return False
        account.revoked = True
        return True

    # --- the authorization-code flow ----------------------------------------------------------

    def await_consent(self, request: AuthRequest) -> str:
        """Park a request until the consent page is answered; the id goes into the page's form."""
        consent_id = secrets.token_urlsafe(18)
        self.consents[consent_id] = request
        return consent_id

    def take_consent(self, consent_id: str) -> AuthRequest | None:
        """A consent can be answered once: a replayed form post finds nothing."""
        return self.consents.pop(consent_id, None)

    def grant_code(self, request: AuthRequest) -> str:
        self._drop_expired_codes()
        code = new_authorization_code()
        self.codes[code] = AuthCode(request=request, expires_at=time.time() + CODE_LIFETIME_S)
        return code

    def peek_code(self, code: str) -> AuthRequest | None:
        """The request behind a live code, without using it up (a mismatched redirect does not burn it)."""
        granted = self.codes.get(code)
        if granted is None or granted.expires_at <= time.time():
            return None
        return granted.request

    def redeem_code(self, code: str) -> Account | None:
        """Use a code up and hand out the account's refresh token, minting a new one after a revocation."""
        granted = self.codes.pop(code, None)
        if granted is None:
            return None
        account = self.accounts.get(granted.request.account_name)
        if account is None:
            return None
        if account.revoked:
            account.refresh_token = new_refresh_token()
            account.revoked = False
        account.scope = granted.request.scope
        return account

    def _drop_expired_codes(self) -> None:
        now = time.time()
        for code in [c for c, granted in self.codes.items() if granted.expires_at <= now]:
            del self.codes[code]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def id_token(account: Account, client_id: str, lifetime_s: float) -> str:
    """An OpenID id_token with Google's claims. Its signature is an HMAC, not RS256: the emulator
    publishes no JWKS, so clients may read the claims but cannot verify it as they would Google's."""
    now = int(time.time())
    header = {"alg": "RS256", "kid": "switchyard-emulator", "typ": "JWT"}
    claims = {
        "iss": "https://accounts.google.com",
        "azp": client_id,
        "aud": client_id,
        "sub": account.google_id,
        "email": account.email,
        "email_verified": True,
        "name": account.name,
        "given_name": account.given_name,
        "picture": DEFAULT_PICTURE,
        "iat": now,
        "exp": now + int(lifetime_s),
    }
    signing_input = ".".join(
        _b64(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    )
    signature = hmac.new(b"switchyard-emulator-id-token", signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


# --- control API: accounts and settings ---------------------------------------------------------


async def json_object(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise ValueError("the body must be JSON") from exc
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


def optional_str(body: Mapping[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and (not isinstance(value, str) or not value):
        raise ValueError(f"{key} must be a non-empty string")
    return value


def account_control_routes(directory: OAuthDirectory) -> list[Route]:
    """`/_control/accounts` and `/_control/settings`: how tests and the demo script the user base."""

    async def register(request: Request) -> Response:
        try:
            body = await json_object(request)
            name = optional_str(body, "name")
            if name is None or "/" in name:
                raise ValueError("name is required and must not contain '/'")
            account = directory.register(
                name,
                optional_str(body, "email"),
                optional_str(body, "refresh_token"),
                optional_str(body, "scope"),
            )
        except AccountConflict as exc:
            return JSONResponse({"error": str(exc)}, status_code=409)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(
            {"name": account.name, "email": account.email, "refresh_token": account.refresh_token}
        )

    async def list_accounts(request: Request) -> Response:
        return JSONResponse(
            [
                {
                    "name": a.name,
                    "email": a.email,
                    "refresh_token": mask(a.refresh_token),
                    "revoked": a.revoked,
                }
                for a in directory.accounts.values()
            ]
        )

    async def revoke(request: Request) -> Response:
        name = request.path_params["name"]
        if not directory.revoke(name):
            return JSONResponse({"error": f"no account named {name!r}"}, status_code=404)
        return JSONResponse({"name": name, "revoked": True})

    async def settings(request: Request) -> Response:
        if request.method == "POST":
            try:
                apply_settings(directory, await json_object(request))
            except ValueError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(
            {"token_lifetime_s": directory.token_lifetime_s, "auto_consent": directory.auto_consent}
        )

    return [
        Route("/_control/accounts", register, methods=["POST"]),
        Route("/_control/accounts", list_accounts, methods=["GET"]),
        Route("/_control/accounts/{name}/revoke", revoke, methods=["POST"]),
        Route("/_control/settings", settings, methods=["GET", "POST"]),
    ]


def apply_settings(directory: OAuthDirectory, body: Mapping[str, Any]) -> None:
    """Validate everything before changing anything, so a bad request leaves the settings untouched."""
    unknown = set(body) - {"token_lifetime_s", "auto_consent"}
    if unknown:
        raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
    lifetime = body.get("token_lifetime_s", directory.token_lifetime_s)
    if isinstance(lifetime, bool) or not isinstance(lifetime, int | float) or lifetime <= 0:
        raise ValueError("token_lifetime_s must be a positive number")
    auto_consent = body.get("auto_consent", directory.auto_consent)
    if not isinstance(auto_consent, bool):
        raise ValueError("auto_consent must be true or false")
    directory.token_lifetime_s = float(lifetime)
    directory.auto_consent = auto_consent
