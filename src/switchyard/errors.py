"""The one error hierarchy. Raised, never returned; rendered once per dialect (`surfaces/render.py`).

    SwitchyardError                      every error a client can see; carries HTTP status and message
    ├── ClientError                      the request is at fault
    │   ├── InvalidRequest               400, names the offending parameter when there is one
    │   ├── AuthenticationFailed         401, missing or unknown client key
    │   ├── PermissionDenied             403, key disabled/expired, model not allowed, account refused
    │   ├── NotFound                     404, unknown route or model
    │   ├── MethodNotAllowed             405
    │   ├── PayloadTooLarge              413
    │   └── RateLimited                  429, a client-key limit; `retry_after` seconds
    ├── UpstreamError                    an upstream answered badly; `error_class` drives the pool
    │   ├── UpstreamRateLimited          short-window rate limit; `retry_after`
    │   ├── UpstreamQuotaExhausted       quota gone until `reset_at`
    │   ├── UpstreamCapacity             503, model capacity; try another host, then account
    │   ├── UpstreamUnauthenticated      401 from the upstream: refresh the token, retry once
    │   ├── AccountDead                  refresh token revoked (`invalid_grant`), cookies expired
    │   ├── AccountForbidden             403 licence, a project the account cannot use: disable it
    │   │   ├── AccountNeedsVerification 403 VALIDATION_REQUIRED: rest the account; the owner verifies
    │   │   └── AccountBanned            403 Terms of Service: the account is dead; appeal URL kept
    │   ├── UpstreamBadRequest           400 the upstream refused the request; the client sees it
    │   │   └── PromptRefused            bare 429 twice on a system prompt: Cloud Code's content filter
    │   ├── UpstreamNotFound             404 model unknown upstream, or not served to this account
    │   │   └── ModelVersionGated        "<Model> is not available on this version" (200 text)
    │   ├── ModelRetired                 "<Old> is no longer available. Please switch to <New>" (200 text)
    │   ├── ClientOutdated               the User-Agent's version is below the upstream's floor
    │   ├── UpstreamTransient            5xx, network errors, truncated streams
    │   └── StreamInterrupted            the stream broke after bytes reached the client
    ├── NoAccountAvailable               429, every eligible account is resting
    │   └── NoAccountConfigured          503, the provider has no enabled account
    ├── ShuttingDown                     503, the gateway stopped before the response ended
    ├── StoreUnavailable                 503, the database is unreachable and memory cannot answer
    └── InternalError                    500: a bug; the message never includes internals

Surfaces render `status`, `message`, `openai_type`, `openai_code`, `google_status`, `param` and
`headers()`; nothing else about an error reaches a client.
"""

from __future__ import annotations

import math
import time
from enum import StrEnum
from typing import Any, ClassVar


class SwitchyardError(Exception):
    """Base of every error a client can see."""

    status: ClassVar[int] = 500
    openai_type: ClassVar[str] = "server_error"
    google_status: ClassVar[str] = "INTERNAL"
    default_code: ClassVar[str | None] = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.openai_code = code or self.default_code
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        """Extra response headers: `Retry-After` in whole seconds, rounded up, when known."""
        if self.retry_after is None:
            return {}
        return {"Retry-After": str(max(1, math.ceil(self.retry_after)))}


class ClientError(SwitchyardError):
    """The request is at fault."""

    status = 400
    openai_type = "invalid_request_error"
    google_status = "INVALID_ARGUMENT"


class InvalidRequest(ClientError):
    """400: malformed or unsupported request; `param` names the field."""


class AuthenticationFailed(ClientError):
    """401: missing or unknown client key."""

    status = 401
    openai_type = "authentication_error"
    google_status = "UNAUTHENTICATED"
    default_code = "invalid_api_key"


class PermissionDenied(ClientError):
    """403: the key may not do this (disabled, expired, model not allowed)."""

    status = 403
    openai_type = "permission_error"
    google_status = "PERMISSION_DENIED"


class NotFound(ClientError):
    """404: unknown route or model."""

    status = 404
    openai_type = "not_found_error"
    google_status = "NOT_FOUND"


class MethodNotAllowed(ClientError):
    """405: the route exists but not for this method."""

    status = 405
    openai_type = "invalid_request_error"
    google_status = "UNIMPLEMENTED"
    default_code = "method_not_allowed"


class PayloadTooLarge(ClientError):
    """413: a body or a fetched media file is over the configured cap."""

    status = 413
    google_status = "INVALID_ARGUMENT"


class RateLimited(ClientError):
    """429: a client-key limit (rpm, concurrency, request or token quota) was reached."""

    status = 429
    openai_type = "rate_limit_error"
    google_status = "RESOURCE_EXHAUSTED"
    default_code = "rate_limit_exceeded"


class ErrorClass(StrEnum):
    """How the pool must react to an upstream failure (see `pool/`)."""

    RATE_LIMITED = "rate_limited"
    QUOTA_EXHAUSTED = "quota_exhausted"
    CAPACITY = "capacity"
    UNAUTHENTICATED = "unauthenticated"
    ACCOUNT_DEAD = "account_dead"
    FORBIDDEN = "forbidden"
    BAD_REQUEST = "bad_request"
    NOT_FOUND = "not_found"
    MODEL_RETIRED = "model_retired"
    CLIENT_OUTDATED = "client_outdated"
    VERIFICATION_REQUIRED = "verification_required"
    BANNED = "banned"
    TRANSIENT = "transient"
    INTERRUPTED = "interrupted"


class UpstreamError(SwitchyardError):
    """An upstream failed; carries what the pool needs to decide and what helps the client."""

    status = 502
    openai_type = "upstream_error"
    google_status = "UNAVAILABLE"
    error_class: ClassVar[ErrorClass] = ErrorClass.TRANSIENT

    def __init__(
        self,
        message: str,
        *,
        upstream_status: int | None = None,
        reason: str | None = None,
        retry_after: float | None = None,
        reset_at: float | None = None,
        url: str | None = None,
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, retry_after=retry_after, param=param, code=code)
        self.upstream_status = upstream_status
        self.reason = reason
        self.reset_at = reset_at
        self.url = url

    def seconds_until_reset(self, now: float | None = None) -> float | None:
        """The delay the upstream asked for, from `reset_at` or `retry_after`."""
        if self.reset_at is not None:
            return max(0.0, self.reset_at - (now if now is not None else time.time()))
        return self.retry_after


class UpstreamRateLimited(UpstreamError):
    """Short-window rate limit (`RATE_LIMIT_EXCEEDED`, bare 429)."""

    status = 429
    openai_type = "rate_limit_error"
    google_status = "RESOURCE_EXHAUSTED"
    default_code = "rate_limit_exceeded"
    error_class = ErrorClass.RATE_LIMITED


class UpstreamQuotaExhausted(UpstreamError):
    """The account's quota for this model is gone until `reset_at`."""

    status = 429
    openai_type = "rate_limit_error"
    google_status = "RESOURCE_EXHAUSTED"
    default_code = "insufficient_quota"
    error_class = ErrorClass.QUOTA_EXHAUSTED


class UpstreamCapacity(UpstreamError):
    """The upstream has no capacity for the model right now (503)."""

    status = 503
    openai_type = "service_unavailable"
    google_status = "UNAVAILABLE"
    error_class = ErrorClass.CAPACITY


class UpstreamUnauthenticated(UpstreamError):
    """The upstream refused the access token; refresh and retry once."""

    status = 502
    error_class = ErrorClass.UNAUTHENTICATED


class AccountDead(UpstreamError):
    """The credential can never work again without the operator (revoked token, expired cookies)."""

    status = 502
    error_class = ErrorClass.ACCOUNT_DEAD


class AccountForbidden(UpstreamError):
    """403 from the upstream: verification required, ToS ban, missing licence."""

    status = 403
    openai_type = "permission_error"
    google_status = "PERMISSION_DENIED"
    error_class = ErrorClass.FORBIDDEN


class UpstreamBadRequest(UpstreamError):
    """The upstream refused the request itself; the client must change it."""

    status = 400
    openai_type = "invalid_request_error"
    google_status = "INVALID_ARGUMENT"
    error_class = ErrorClass.BAD_REQUEST


class UpstreamNotFound(UpstreamError):
    """The upstream does not know the model."""

    status = 404
    openai_type = "not_found_error"
    google_status = "NOT_FOUND"
    default_code = "model_not_found"
    error_class = ErrorClass.NOT_FOUND


class AccountNeedsVerification(AccountForbidden):
    """403 `VALIDATION_REQUIRED`: the owner must verify the account; it rests, it is not disabled."""

    error_class = ErrorClass.VERIFICATION_REQUIRED


class AccountBanned(AccountForbidden):
    """403 for a Terms of Service violation: the account is dead until an appeal succeeds."""

    error_class = ErrorClass.BANNED


class PromptRefused(UpstreamBadRequest):
    """The upstream refused the system prompt as a content filter (the bare 429, twice)."""

    default_code = "prompt_refused"


class ModelVersionGated(UpstreamNotFound):
    """The upstream said the model is not available to this client version (another account's
    User-Agent may differ, so it counts as "this account does not serve this model")."""


class ModelRetired(UpstreamError):
    """The upstream retired the model; `replacement_name` is the name its answer suggested."""

    status = 404
    openai_type = "not_found_error"
    google_status = "NOT_FOUND"
    default_code = "model_retired"
    error_class = ErrorClass.MODEL_RETIRED

    def __init__(self, message: str, *, model: str, replacement_name: str | None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.model = model
        """The upstream model id that was asked for."""
        self.replacement_name = replacement_name
        """The replacement exactly as the upstream's text named it (a display name or an id)."""
        self.replacement: str | None = None
        """The model id the gateway now forwards to, once the provider has learned it."""


class ClientOutdated(UpstreamError):
    """The upstream refused the client version the gateway announces (its User-Agent)."""

    status = 502
    error_class = ErrorClass.CLIENT_OUTDATED


class UpstreamTransient(UpstreamError):
    """5xx or a network failure; worth retrying elsewhere."""

    error_class = ErrorClass.TRANSIENT


class StreamInterrupted(UpstreamError):
    """The upstream stream ended early, empty, or without a finish reason after output began."""

    error_class = ErrorClass.INTERRUPTED


class NoAccountAvailable(SwitchyardError):
    """429: every eligible account is resting; `retry_after` is the earliest reset."""

    status = 429
    openai_type = "rate_limit_error"
    google_status = "RESOURCE_EXHAUSTED"
    default_code = "no_account_available"


class NoAccountConfigured(NoAccountAvailable):
    """503: the provider has no enabled account at all; the operator must add one."""

    status = 503
    openai_type = "service_unavailable"
    google_status = "UNAVAILABLE"
    default_code = "no_account_configured"


class ShuttingDown(SwitchyardError):
    """503: the gateway is shutting down and cut this stream at the end of its grace period."""

    status = 503
    openai_type = "service_unavailable"
    google_status = "UNAVAILABLE"
    default_code = "shutting_down"


class StoreUnavailable(SwitchyardError):
    """503: the store (database) is unreachable and what was asked needs it (a key not seen
    before, an admin change); `retry_after` says when to try again."""

    status = 503
    openai_type = "service_unavailable"
    google_status = "UNAVAILABLE"
    default_code = "store_unavailable"


STORE_DOWN_MESSAGE = (
    "The gateway's database is unreachable and this request needs it; retry in a few seconds."
)


STREAM_CUT = ShuttingDown(
    "The gateway is shutting down and ended this stream before it finished; retry the request."
)
"""The error a stream cut at the end of the shutdown grace ends with (`EventStream.cut_frame`)."""


class InternalError(SwitchyardError):
    """500: a bug. The message is generic; details go to the log with the request id."""
