"""Self-describing access tokens shared by the OAuth and Cloud Code emulators.

The emulators may run as separate processes, so the Cloud Code emulator cannot look tokens up in the
OAuth emulator's memory. Instead the OAuth emulator issues `ya29.<payload>.<mac>` tokens whose
payload names the account and the expiry, MACed with a key both emulators know
(`SWITCHYARD_EMULATOR_SECRET`, default a fixed test value). Anything else is an unknown token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass

DEFAULT_EMULATOR_SECRET = "switchyard-emulator-not-a-secret"


def _key() -> bytes:
    return os.environ.get("SWITCHYARD_EMULATOR_SECRET", DEFAULT_EMULATOR_SECRET).encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class AccessToken:
    account: str
    email: str
    expires_at: float

    @property
    def expired(self) -> bool:
        return time.time() >= self.expires_at


def issue_access_token(account: str, email: str, lifetime_s: float) -> str:
    payload = json.dumps(
        {"a": account, "m": email, "e": time.time() + lifetime_s, "n": secrets.token_hex(4)},
        separators=(",", ":"),
    ).encode()
    body = _b64(payload)
    mac = _b64(hmac.new(_key(), body.encode(), hashlib.sha256).digest()[:18])
    return f"ya29.{body}.{mac}"


def read_access_token(token: str) -> AccessToken | None:
    """The account a token belongs to, or None when it was not issued by the OAuth emulator."""
    try:
        prefix, body, mac = token.split(".")
    except ValueError:
        return None
    if prefix != "ya29":
        return None
    expected = _b64(hmac.new(_key(), body.encode(), hashlib.sha256).digest()[:18])
    if not hmac.compare_digest(mac, expected):
        return None
    try:
        payload = json.loads(_unb64(body))
        return AccessToken(account=payload["a"], email=payload["m"], expires_at=float(payload["e"]))
    except (ValueError, KeyError, TypeError):
        return None


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None
