"""`gemini-webapi` exceptions → the gateway's classified upstream errors.

The library raises one exception class per in-stream code (protocols/gemini-web.md §4.3), so the
classification is by class, never by message text:

    AuthError                      → AccountDead("cookies expired: …")   the operator must re-export
    UsageLimitExceededError (1037) → UpstreamQuotaExhausted              cools that (account, model)
    TemporarilyBlockedError (1060) → UpstreamRateLimited(reason=ip_blocked)   cools the whole account
    ModelInvalidError (1050/1052)  → UpstreamTransient                   stale model id or history
    TimeoutError, APIError, other  → UpstreamTransient                   another account may work

Expired cookies no longer fail init (the signed-out page still carries tokens, so the library starts
a guest session): `client.py` reads otAQ7b's account status after init, 1016 → AccountDead.
An `APIError` can also be a dead session seen mid-flight (StreamGenerate answers 401 once the
cookies die); the client re-probes the session before classifying it (`client.py`).
"""

from __future__ import annotations

from gemini_webapi.exceptions import (
    APIError,
    AuthError,
    GeminiError,
    ModelInvalidError,
    TemporarilyBlockedError,
    UsageLimitExceededError,
)
from gemini_webapi.exceptions import TimeoutError as WebTimeoutError

from switchyard.errors import (
    AccountDead,
    UpstreamError,
    UpstreamQuotaExhausted,
    UpstreamRateLimited,
    UpstreamTransient,
)

IP_BLOCKED = "ip_blocked"
USAGE_LIMIT = "usage_limit"
IP_BLOCK_COOLDOWN_S = 15 * 60.0
"""Google does not say how long a 1060 block lasts; reports speak of minutes to an hour."""
COOKIES_EXPIRED_HELP = (
    "export fresh __Secure-1PSID / __Secure-1PSIDTS cookies and update the account "
    "(docs/credentials.md, Gemini web)"
)


def cookies_expired(detail: str) -> AccountDead:
    message = f"cookies expired: {detail}; {COOKIES_EXPIRED_HELP}"
    return AccountDead(message, reason=message)


def classify(error: BaseException, *, web_model: str) -> UpstreamError:
    """The classified error for one exception raised by `gemini-webapi`."""
    if isinstance(error, UpstreamError):
        return error
    if isinstance(error, AuthError):
        return cookies_expired("Gemini no longer accepts this session (the /app page is logged out)")
    if isinstance(error, UsageLimitExceededError):
        return UpstreamQuotaExhausted(
            f"Gemini web usage limit reached for {web_model} on this account (code 1037)",
            reason=USAGE_LIMIT,
        )
    if isinstance(error, TemporarilyBlockedError):
        return UpstreamRateLimited(
            "Gemini web temporarily blocked this account's IP address (code 1060); "
            "give the account another proxy or wait",
            reason=IP_BLOCKED,
            retry_after=IP_BLOCK_COOLDOWN_S,
        )
    if isinstance(error, ModelInvalidError):
        return UpstreamTransient(f"Gemini web refused the model {web_model}: {error}")
    if isinstance(error, WebTimeoutError):
        return UpstreamTransient("Gemini web did not answer in time")
    if isinstance(error, APIError | GeminiError):
        return UpstreamTransient(f"Gemini web failed: {error}")
    return UpstreamTransient(f"Gemini web could not be reached ({type(error).__name__})")
