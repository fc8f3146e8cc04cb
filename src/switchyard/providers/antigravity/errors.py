"""Classify Cloud Code error responses into the gateway's upstream error classes (protocols §7).

The pool's decisions (cool down until a reset, switch host, disable an account) hang on this one
function, so it reads the structured fields Google puts in the `google.rpc` envelope first —
`ErrorInfo.reason`, `RetryInfo.retryDelay`, `ErrorInfo.metadata.quotaResetDelay` /
`quotaResetTimeStamp` / `validation_url` — and looks at the message text only when the body carries
no structured field at all (the bare 429, the ToS-ban 403, the 503 "no longer supported"). Matching
text where a field exists is the litellm habit that STYLE.md warns against: Google rewords messages,
not reasons. A `message` that is itself a serialized Google error (§12.6) is read as that error.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import orjson

from switchyard.errors import (
    AccountBanned,
    AccountForbidden,
    AccountNeedsVerification,
    ClientOutdated,
    UpstreamBadRequest,
    UpstreamCapacity,
    UpstreamError,
    UpstreamNotFound,
    UpstreamQuotaExhausted,
    UpstreamRateLimited,
    UpstreamTransient,
    UpstreamUnauthenticated,
)

ERROR_INFO_TYPE = "type.googleapis.com/google.rpc.ErrorInfo"
RETRY_INFO_TYPE = "type.googleapis.com/google.rpc.RetryInfo"
HELP_TYPE = "type.googleapis.com/google.rpc.Help"

QUOTA_REASONS = frozenset({"QUOTA_EXHAUSTED", "INSUFFICIENT_G1_CREDITS_BALANCE"})
CAPACITY_REASONS = frozenset({"MODEL_CAPACITY_EXHAUSTED"})
LONG_RATE_LIMIT_S = 300.0
"""A rate limit whose delay reaches this long is really a spent quota (CPA `decideAntigravity429`)."""

_GO_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|h|m|s)")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_MESSAGE_DELAY = re.compile(
    r"(?:reset after|resets in|retry after|retry in)\s+([0-9hmsuµμn.]+)", re.IGNORECASE
)
_TOS_BAN = re.compile(r"violation of terms of service", re.IGNORECASE)
_NO_LONGER_SUPPORTED = re.compile(r"version of Antigravity is no longer supported", re.IGNORECASE)
BARE_429_REASON = "RESOURCE_EXHAUSTED_BARE"
"""The reason given to a 429 without any detail: a rate limit, or Cloud Code's content filter on
`systemInstruction` (§12.6); only a retry with the prompt cloaked tells them apart."""
PROJECT_REASONS = frozenset({"SERVICE_DISABLED", "CONSUMER_INVALID"})
"""403s that mean "this project is not the account's" (§12.6): rediscover it once."""
VERIFY_HOST = "accounts.google.com"
_URL = re.compile(r"https://\S+[^\s.,;)\"']")
_MAX_MESSAGE = 2000


def parse_go_duration(text: str) -> float | None:
    """Seconds in a Go/proto duration (`"0.479417207s"`, `"1h2m3.5s"`, `"39s"`); None if not one."""
    text = text.strip()
    if not text:
        return None
    if text in {"0", "-0"}:
        return 0.0
    negative = text.startswith("-")
    body = text.lstrip("+-")
    total, consumed = 0.0, 0
    for match in _GO_DURATION.finditer(body):
        if match.start() != consumed:
            return None
        total += float(match.group(1)) * _GO_UNITS[match.group(2)]
        consumed = match.end()
    if consumed != len(body) or consumed == 0:
        return None
    return -total if negative else total


def parse_rfc3339(text: str) -> float | None:
    """Epoch seconds of an RFC 3339 timestamp (`2025-12-18T20:18:34Z`, fractional seconds allowed)."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.timestamp()


@dataclass
class RpcError:
    """The parts of a `google.rpc.Status` body that drive classification."""

    message: str = ""
    status: str = ""
    reason: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    retry_delay: float | None = None
    help_url: str | None = None

    @property
    def structured(self) -> bool:
        """Whether any machine-readable detail came with the error."""
        return self.reason is not None or self.retry_delay is not None or bool(self.metadata)


def parse_rpc_error(body: bytes) -> RpcError:
    """Read `{"error":{code,message,status,details}}` (also the `[{...}]` list form), leniently."""
    try:
        data: Any = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        return RpcError(message=body.decode("utf-8", "replace").strip()[:_MAX_MESSAGE])
    if isinstance(data, list) and data:
        data = data[0]
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        text = error if isinstance(error, str) else ""
        return RpcError(message=text[:_MAX_MESSAGE])
    inner = _serialized_google_error(error.get("message"))
    if inner is not None:  # the whole Google error serialized inside the message (AGM#3074)
        error = {**inner, "status": inner.get("status") or error.get("status")}
    parsed = RpcError(message=str(error.get("message") or ""), status=str(error.get("status") or ""))
    for detail in error.get("details") or []:
        if isinstance(detail, dict):
            _read_detail(parsed, detail)
    return parsed


def _serialized_google_error(message: Any) -> dict[str, Any] | None:
    """The inner `{"error": {...}}` of a message that is a serialized Google error, else None
    (Claude's serialized Anthropic errors have no `code`/`status` and stay messages)."""
    if not isinstance(message, str) or not message.lstrip().startswith("{"):
        return None
    try:
        data = orjson.loads(message)
    except orjson.JSONDecodeError:
        return None
    inner = data.get("error") if isinstance(data, dict) else None
    if isinstance(inner, dict) and ("code" in inner or "status" in inner or "details" in inner):
        return inner
    return None


def _read_detail(parsed: RpcError, detail: Mapping[str, Any]) -> None:
    kind = detail.get("@type")
    if kind == ERROR_INFO_TYPE:
        parsed.reason = str(detail.get("reason") or "") or None
        metadata = detail.get("metadata")
        if isinstance(metadata, dict):
            parsed.metadata = {str(k): str(v) for k, v in metadata.items()}
    elif kind == RETRY_INFO_TYPE:
        delay = detail.get("retryDelay")
        if isinstance(delay, str):
            parsed.retry_delay = parse_go_duration(delay)
        elif isinstance(delay, dict):  # the proto form {"seconds": N, "nanos": N}
            parsed.retry_delay = float(delay.get("seconds", 0)) + float(delay.get("nanos", 0)) / 1e9
    elif kind == HELP_TYPE:
        for link in detail.get("links") or []:
            if isinstance(link, dict) and isinstance(link.get("url"), str):
                parsed.help_url = link["url"]
                break


def _delay(rpc: RpcError, headers: Mapping[str, str]) -> float | None:
    """RetryInfo first, then quotaResetDelay; the message and `Retry-After` only without them."""
    if rpc.retry_delay is not None:
        return rpc.retry_delay
    reset_delay = rpc.metadata.get("quotaResetDelay")
    if reset_delay is not None:
        return parse_go_duration(reset_delay)
    if rpc.structured:
        return None
    match = _MESSAGE_DELAY.search(rpc.message)
    if match:
        seconds = parse_go_duration(match.group(1).rstrip("."))
        if seconds is not None:
            return seconds
    retry_after = _header(headers, "retry-after")
    if retry_after is not None and retry_after.strip().isdigit():
        return float(retry_after.strip())
    return None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _reset_at(rpc: RpcError, delay: float | None, now: float) -> float | None:
    stamp = rpc.metadata.get("quotaResetTimeStamp")
    if stamp is not None:
        parsed = parse_rfc3339(stamp)
        if parsed is not None:
            return parsed
    reset_delay = rpc.metadata.get("quotaResetDelay")
    seconds = parse_go_duration(reset_delay) if reset_delay is not None else delay
    return now + seconds if seconds is not None else None


def unwrap_message(message: str) -> str:
    """Claude errors arrive as an Anthropic error JSON inside the message string; show its text."""
    text = message.strip()
    if text.startswith("{"):
        try:
            inner = orjson.loads(text)
        except orjson.JSONDecodeError:
            return text[:_MAX_MESSAGE]
        error = inner.get("error") if isinstance(inner, dict) else None
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return error["message"][:_MAX_MESSAGE]
    return text[:_MAX_MESSAGE]


def classify_error(status: int, body: bytes, headers: Mapping[str, str] | None = None) -> UpstreamError:
    """The classified error for one non-2xx Cloud Code response (protocols §7)."""
    rpc = parse_rpc_error(body)
    headers = headers or {}
    now = time.time()
    delay = _delay(rpc, headers)
    message = unwrap_message(rpc.message) or f"HTTP {status}"
    common: dict[str, Any] = {"upstream_status": status, "reason": rpc.reason or rpc.status or None}
    if status == 429:
        return _classify_429(rpc, message, delay, now, common)
    if status == 503 and (
        rpc.reason in CAPACITY_REASONS or (not rpc.structured and "no capacity" in message.lower())
    ):
        return UpstreamCapacity(
            f"Antigravity has no capacity for this model right now: {message}", retry_after=delay, **common
        )
    if status == 503 and not rpc.structured and _NO_LONGER_SUPPORTED.search(message):
        return ClientOutdated(f"Antigravity refused the client version: {message}", **common)
    if status == 401:
        return UpstreamUnauthenticated(f"Antigravity refused the access token: {message}", **common)
    if status == 403:
        return _classify_403(rpc, message, common)
    if status == 404:
        return UpstreamNotFound(f"Antigravity does not know this model: {message}", **common)
    if status in {408, 425} or status >= 500:
        return UpstreamTransient(
            f"Antigravity upstream error (HTTP {status}): {message}", retry_after=delay, **common
        )
    return UpstreamBadRequest(message, **common)


def _classify_429(
    rpc: RpcError, message: str, delay: float | None, now: float, common: dict[str, Any]
) -> UpstreamError:
    if rpc.reason in QUOTA_REASONS or (
        rpc.reason is None and delay is not None and delay >= LONG_RATE_LIMIT_S
    ):
        reset_at = _reset_at(rpc, delay, now)
        retry_after = max(0.0, reset_at - now) if reset_at is not None else delay
        return UpstreamQuotaExhausted(
            f"Antigravity quota exhausted for this model: {message}",
            retry_after=retry_after,
            reset_at=reset_at,
            **common,
        )
    if not rpc.structured and rpc.status == "RESOURCE_EXHAUSTED":
        common = {**common, "reason": BARE_429_REASON}
    return UpstreamRateLimited(f"Antigravity rate limit: {message}", retry_after=delay, **common)


def is_bare_429(error: UpstreamError) -> bool:
    """The 429 without details: a rate limit, or the content filter on the system prompt."""
    return isinstance(error, UpstreamRateLimited) and error.reason == BARE_429_REASON


def is_project_error(error: UpstreamError) -> bool:
    """A 403 saying the project is not the account's (SERVICE_DISABLED, CONSUMER_INVALID)."""
    return isinstance(error, AccountForbidden) and error.reason in PROJECT_REASONS


def _classify_403(rpc: RpcError, message: str, common: dict[str, Any]) -> UpstreamError:
    reason = rpc.reason
    if "appeal_url" in rpc.metadata or (reason is None and _TOS_BAN.search(message)):
        return _banned(rpc, message, {**common, "reason": reason or "TOS_VIOLATION"})
    if reason == "VALIDATION_REQUIRED":
        return _needs_verification(rpc, message, {**common, "reason": reason})
    common = {**common, "reason": reason or rpc.status or "PERMISSION_DENIED"}
    if reason in PROJECT_REASONS:
        return _project_refused(rpc, message, common)
    hints = {
        "SUBSCRIPTION_REQUIRED": "the account lacks the required licence",
    }
    hint = hints.get(common["reason"], "the account was refused")
    url = rpc.help_url
    text = f"Antigravity refused the account ({hint}): {message}"
    if url and url not in text:
        text += f" [{url}]"
    return AccountForbidden(text, url=url, **common)


def _banned(rpc: RpcError, message: str, common: dict[str, Any]) -> UpstreamError:
    url = rpc.metadata.get("appeal_url") or rpc.help_url
    text = f"Antigravity disabled the account for a Terms of Service violation: {message}"
    if url:
        text += f" Appeal: {url}"
    return AccountBanned(text, url=url, **common)


def _needs_verification(rpc: RpcError, message: str, common: dict[str, Any]) -> UpstreamError:
    """Only a Google sign-in link is passed on (9router PR#3635): operators click it."""
    candidates = [rpc.metadata.get("validation_url"), rpc.metadata.get("validationUrl"), rpc.help_url]
    found = _URL.search(message)
    candidates.append(found.group(0) if found else None)
    url = next((c for c in candidates if c and is_google_signin_url(c)), None)
    message = _URL.sub(
        lambda m: m.group(0) if is_google_signin_url(m.group(0)) else "[link removed]", message
    )
    text = f"Antigravity wants the account verified by its owner: {message}"
    if url and url not in text:
        text += f" Verify at {url}"
    elif url is None:
        text += " (sign in to Antigravity with this account to verify it)"
    return AccountNeedsVerification(text, url=url, **common)


def is_google_signin_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" and parts.hostname == VERIFY_HOST


def _project_refused(rpc: RpcError, message: str, common: dict[str, Any]) -> UpstreamError:
    """SERVICE_DISABLED names the service and where to enable it; CONSUMER_INVALID the project."""
    service = rpc.metadata.get("serviceTitle") or rpc.metadata.get("service") or "the Cloud Code API"
    url = rpc.metadata.get("activationUrl") or rpc.help_url
    if common["reason"] == "SERVICE_DISABLED":
        why = f"{service} is not enabled in it"
    else:
        why = "it is not the account's own"
    text = f"Antigravity refused the account's Cloud project ({why}): {message}"
    if url and url not in text:
        text += f" Enable it at {url}"
    return AccountForbidden(text, url=url, **common)
