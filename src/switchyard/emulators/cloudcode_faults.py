"""Scripted failures for the Cloud Code emulator (api-contract.md, "Emulator control API").

Faults are queued with `POST /_control/faults` and matched on the account name and upstream model.
By default they hit generation calls only (`generateContent`, `streamGenerateContent`), so a gateway's
model-list or project-discovery calls do not eat a fault meant for a chat request; add
`"method": "<v1internal method>"` (or a list) to target another method. Stream-shape faults
(`drop_after_events`, `empty_stream`, `no_finish`) wait for a stream call.

    {"fault": "rate_limited", "retry_delay_s": 2}        429 RATE_LIMIT_EXCEEDED + RetryInfo
    {"fault": "quota_exhausted", "reset_delay_s": 3723}  429 QUOTA_EXHAUSTED + quotaResetDelay + RetryInfo
    {"fault": "bare_429"}                                429 without details
    {"fault": "capacity", "retry_delay_s": 39}           503 MODEL_CAPACITY_EXHAUSTED (RetryInfo optional)
    {"fault": "unauthenticated"}                         401 UNAUTHENTICATED
    {"fault": "forbidden", "reason": "VALIDATION_REQUIRED", "validation_url": "..."}   403 (§12.6 bodies;
        reasons also SERVICE_DISABLED ("project"), TOS_VIOLATION ("appeal_url"), CONSUMER_INVALID,
        SUBSCRIPTION_REQUIRED, anything else = IAM denial)
    {"fault": "server_error"}                            500 INTERNAL
    {"fault": "delay_ms", "delay_ms": 500}               answer late (then normally)
    {"fault": "drop_after_events", "events": 2}          cut the stream after 2 events
    {"fault": "empty_stream"}                            200 with no events
    {"fault": "no_finish"}                               the stream ends cleanly without finishReason
"""

from __future__ import annotations

from typing import Any

from switchyard.emulators.base import EmulatorState, Fault
from switchyard.emulators.cloudcode_errors import (
    CloudCodeError,
    bare_429,
    capacity_exhausted,
    forbidden,
    quota_exhausted,
    rate_limited,
    server_error,
    unauthenticated,
)

GENERATION_METHODS = frozenset({"generateContent", "streamGenerateContent"})
STREAM_FAULTS = frozenset({"drop_after_events", "empty_stream", "no_finish"})
ERROR_FAULTS = frozenset(
    {
        "rate_limited",
        "quota_exhausted",
        "bare_429",
        "capacity",
        "unauthenticated",
        "forbidden",
        "server_error",
    }
)
DELAY_FAULT = "delay_ms"
KNOWN_FAULTS = frozenset({*ERROR_FAULTS, *STREAM_FAULTS, DELAY_FAULT})
DEFAULT_RETRY_DELAY_S = 1.0
DEFAULT_RESET_DELAY_S = 3723.0  # "1h2m3s"
DEFAULT_FORBIDDEN_REASON = "VALIDATION_REQUIRED"
DEFAULT_DROP_AFTER_EVENTS = 1


def _targets(fault: Fault, method: str) -> bool:
    wanted = fault.params.get("method")
    if wanted is None:
        return method in GENERATION_METHODS
    return method in ([wanted] if isinstance(wanted, str) else wanted)


def take_fault(
    state: EmulatorState, *, account: str, model: str | None, method: str, kinds: frozenset[str]
) -> Fault | None:
    """Consume one use of the first queued fault of `kinds` that matches this call."""
    for fault in state.faults:
        if fault.fault in kinds and _targets(fault, method) and fault.matches(account, model):
            fault.times -= 1
            if fault.times <= 0:
                state.faults.remove(fault)
            return fault
    return None


def fault_error(fault: Fault, *, model: str, project: str, method: str) -> CloudCodeError:
    """The error an error-kind fault answers with."""
    params: dict[str, Any] = fault.params
    kind = fault.fault
    if kind == "rate_limited":
        return rate_limited(model, float(params.get("retry_delay_s", DEFAULT_RETRY_DELAY_S)))
    if kind == "quota_exhausted":
        return quota_exhausted(model, float(params.get("reset_delay_s", DEFAULT_RESET_DELAY_S)))
    if kind == "bare_429":
        return bare_429()
    if kind == "capacity":
        delay = params.get("retry_delay_s")
        return capacity_exhausted(model, None if delay is None else float(delay))
    if kind == "unauthenticated":
        return unauthenticated("ACCESS_TOKEN_EXPIRED", method)
    if kind == "forbidden":
        return forbidden(str(params.get("reason", DEFAULT_FORBIDDEN_REASON)), project=project, params=params)
    return server_error()


def drop_after(fault: Fault) -> int:
    return int(fault.params.get("events", fault.params.get("after_events", DEFAULT_DROP_AFTER_EVENTS)))
