"""The Cloud Code `v1internal` emulator: today's Antigravity upstream (protocols/antigravity.md §12).

`POST /v1internal:<method>` for generateContent, streamGenerateContent (`?alt=sse`), countTokens,
fetchAvailableModels, loadCodeAssist, onboardUser and retrieveUserQuotaSummary. Bearer tokens are the
OAuth emulator's self-describing `ya29.` tokens, which name the account, so faults and quota can
target one account. A generate call goes through the checks in the order Google's front end and the
backend reach them: auth (401) → JSON → scripted faults → proto parse (400) → envelope (400) →
project (403 SERVICE_DISABLED) → client version and retirements (200 notice) → model (404) →
content checks (400/404) → content filter (bare 429) → quota (429) → answer.

The model catalogue is data (`cloudcode_models.py`, `cloudcode_lineup.py`); the control API beyond
faults/requests/reset is in `cloudcode_control.py`.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from switchyard.emulators.base import EmulatorState, apply_delay, control_routes
from switchyard.emulators.cloudcode_accounts import (
    DEFAULT_ONBOARD_POLLS,
    DEFAULT_QUOTA_REQUESTS,
    DEFAULT_QUOTA_WINDOW_S,
    TIERS,
    Account,
    load_code_assist_reply,
    onboard_reply,
    quota_summary_reply,
)
from switchyard.emulators.cloudcode_answers import (
    Answer,
    build_answer,
    count_prompt_tokens,
    notice_answer,
    request_digest,
)
from switchyard.emulators.cloudcode_catalogue import Notice
from switchyard.emulators.cloudcode_control import CloudCodeState, cloudcode_control_routes
from switchyard.emulators.cloudcode_errors import (
    CloudCodeError,
    bare_429,
    consumer_invalid,
    envelope,
    invalid_argument,
    invalid_payload,
    model_not_found,
    quota_exhausted,
    service_disabled,
    unauthenticated,
)
from switchyard.emulators.cloudcode_faults import (
    DELAY_FAULT,
    ERROR_FAULTS,
    GENERATION_METHODS,
    KNOWN_FAULTS,
    STREAM_FAULTS,
    drop_after,
    fault_error,
    take_fault,
)
from switchyard.emulators.cloudcode_models import MODELS, ModelFacts
from switchyard.emulators.cloudcode_proto import check_payload, get_field
from switchyard.emulators.cloudcode_stream import (
    JSON_MEDIA_TYPE,
    SSE_MEDIA_TYPE,
    Framer,
    SSEStream,
    benchmark_events,
    new_trace_id,
    stream_events,
)
from switchyard.emulators.cloudcode_validate import require_envelope, validate_contents, validate_generation
from switchyard.emulators.cloudcode_versions import parse_user_agent
from switchyard.emulators.tokens import bearer_token, read_access_token

EMULATOR_NAME = "cloudcode"
STREAM_METHOD = "streamGenerateContent"
SERVER_TIMING = "gfet4t7; dur=412"
ONBOARD_TIER_IDS = ("free-tier", "standard-tier")
LOGGED_TEXT_LIMIT = 10_000
INVALID_JSON_SNIPPET = 40
AGENT_REQUEST_TYPE = "agent"
GCP_PROJECT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")


@dataclass
class Call:
    """One authenticated v1internal call."""

    request: Request
    method: str
    account: Account
    body: dict[str, Any]

    @property
    def stream(self) -> bool:
        return self.method == STREAM_METHOD


MethodHandler = Callable[[CloudCodeState, Call], Awaitable[Response]]


def _headers(trace_id: str) -> dict[str, str]:
    return {"x-cloudaicompanion-trace-id": trace_id, "server-timing": SERVER_TIMING}


def json_answer(payload: dict[str, Any], trace_id: str) -> Response:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Response(body, headers=_headers(trace_id), media_type=JSON_MEDIA_TYPE)


def error_answer(error: CloudCodeError, *, stream: bool, trace_id: str) -> Response:
    """Errors on a stream call keep `text/event-stream` but the body is plain JSON (§5.2)."""
    body = json.dumps(error.body, indent=2).encode()
    media_type = SSE_MEDIA_TYPE if stream else JSON_MEDIA_TYPE
    return Response(body, status_code=error.status, headers=_headers(trace_id), media_type=media_type)


def authenticate(request: Request, method: str) -> str:
    """The account name in the Bearer token; missing, foreign or expired tokens are 401s."""
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        raise unauthenticated("CREDENTIALS_MISSING", method)
    access = read_access_token(token)
    if access is None:
        raise unauthenticated("ACCESS_TOKEN_TYPE_UNSUPPORTED", method)
    if access.expired:
        raise unauthenticated("ACCESS_TOKEN_EXPIRED", method)
    return access.account


def _check_project(account: Account, project: Any) -> None:
    """A project that is not the account's own: SERVICE_DISABLED for a real-looking id (a stale or
    foreign project, §12.6), CONSUMER_INVALID for one no Google project could have (§7)."""
    if not isinstance(project, str) or not project or account.owns(project):
        return
    if GCP_PROJECT_ID.match(project):
        raise service_disabled(project)
    raise consumer_invalid(project)


def _system_text(request: dict[str, Any]) -> str:
    system = get_field(request, "systemInstruction")
    if not isinstance(system, dict):
        return ""
    return "\n".join(str(p.get("text")) for p in system.get("parts") or [] if isinstance(p.get("text"), str))


# --- generation ------------------------------------------------------------------------------------


async def generate(state: CloudCodeState, call: Call) -> Response:
    """generateContent and streamGenerateContent: faults, the checks in upstream order, then the answer."""
    model = call.body.get("model") if isinstance(call.body.get("model"), str) else None
    account = call.account
    delay = take_fault(
        state.emulator, account=account.name, model=model, method=call.method, kinds=frozenset({DELAY_FAULT})
    )
    await apply_delay(delay)
    kinds = ERROR_FAULTS | STREAM_FAULTS if call.stream else ERROR_FAULTS
    fault = take_fault(state.emulator, account=account.name, model=model, method=call.method, kinds=kinds)
    if fault is not None and fault.fault in ERROR_FAULTS:
        raise fault_error(
            fault, model=model or "", project=str(call.body.get("project", "")), method=call.method
        )

    check_payload(call.body)
    project, model = require_envelope(call.body)
    _check_project(account, project)
    request = call.body.get("request") or {}
    resolved = state.catalogue.resolve(model, parse_user_agent(call.request.headers.get("user-agent")))
    if isinstance(resolved, Notice):
        answer = notice_answer(model, resolved.text)
    else:
        answer = await _answer(state, call, resolved, request)
    framer = Framer(answer)
    if not call.stream:
        return json_answer(framer.aggregated(), framer.trace_id)

    settings = state.settings
    if settings.events_per_stream or settings.bytes_per_event:
        events = benchmark_events(answer, framer, settings)
    else:
        split = settings.split_usage
        if split is None:
            split = int(request_digest(call.body)[-2], 16) % 2 == 1
        events = stream_events(
            answer, framer, split_usage=split, finish=fault is None or fault.fault != "no_finish"
        )
    drop = False
    if fault is not None and fault.fault == "empty_stream":
        events = []
    elif fault is not None and fault.fault == "drop_after_events":
        events, drop = events[: drop_after(fault)], True
    return SSEStream(
        events, headers=_headers(framer.trace_id), delay_s=settings.event_delay_ms / 1000, drop=drop
    )


async def _answer(state: CloudCodeState, call: Call, facts: ModelFacts, request: dict[str, Any]) -> Answer:
    """Validate, filter, bill and answer a call for a model that is served."""
    validate_generation(facts.id, request, facts)
    if call.body.get("requestType") == AGENT_REQUEST_TYPE and state.filtered(_system_text(request)):
        raise bare_429()  # the content filter of §12.6: no details, no quota spent
    pool = call.account.pools.get(facts.pool) if facts.pool is not None else None
    empty = pool.exhausted() if pool is not None else None
    if empty is not None:
        raise quota_exhausted(facts.id, empty.seconds_to_reset())
    body = {**call.body, "request": request}
    scripted = state.scripts.take(call.account.name, facts.id)
    # Pillow work (a 4K JPEG takes a few hundred ms) must not stall other streams on the event loop.
    if facts.image_output:
        answer = await asyncio.to_thread(build_answer, body, facts, scripted)
    else:
        answer = build_answer(body, facts, scripted)
    if pool is not None:
        pool.spend()
    return answer


async def count_tokens(state: CloudCodeState, call: Call) -> Response:
    """`{"request":{contents…}}` → `{"totalTokens":N}`; `model`/`project` optional (CPA-H strips them)."""
    check_payload(call.body)
    model = call.body.get("model")
    if model is not None and model not in MODELS and model not in state.catalogue.retirements:
        raise model_not_found()
    _check_project(call.account, call.body.get("project"))
    request = call.body.get("request") or {}
    validate_contents(get_field(request, "contents") or [])
    return json_answer({"totalTokens": count_prompt_tokens(request)}, new_trace_id())


# --- discovery -------------------------------------------------------------------------------------


async def fetch_available_models(state: CloudCodeState, call: Call) -> Response:
    _check_project(call.account, call.body.get("project"))
    client = parse_user_agent(call.request.headers.get("user-agent"))
    return json_answer(state.catalogue.available_models_reply(call.account, client), new_trace_id())


async def load_code_assist(state: CloudCodeState, call: Call) -> Response:
    return json_answer(load_code_assist_reply(call.account), new_trace_id())


async def onboard_user(state: CloudCodeState, call: Call) -> Response:
    """Accepts CPA-H's `tier_id` and OAA's `tierId`; the tier must be one loadCodeAssist offered."""
    tier = call.body.get("tier_id", call.body.get("tierId"))
    if tier not in ONBOARD_TIER_IDS or tier not in TIERS:
        raise invalid_argument(f"Invalid tier id: {tier!r}.", field="tier_id")
    return json_answer(onboard_reply(call.account), new_trace_id())


async def retrieve_user_quota_summary(state: CloudCodeState, call: Call) -> Response:
    return json_answer(quota_summary_reply(call.account), new_trace_id())


METHODS: dict[str, MethodHandler] = {
    "generateContent": generate,
    STREAM_METHOD: generate,
    "countTokens": count_tokens,
    "fetchAvailableModels": fetch_available_models,
    "loadCodeAssist": load_code_assist,
    "onboardUser": onboard_user,
    "retrieveUserQuotaSummary": retrieve_user_quota_summary,
}


def decode_body(raw: bytes) -> tuple[Any, bool]:
    """The body for the log (parsed JSON, else text) and whether it was JSON, parsing only once."""
    if not raw:
        return {}, True
    try:
        return json.loads(raw), True
    except ValueError:
        return raw[:LOGGED_TEXT_LIMIT].decode("utf-8", "replace"), False


def parse_json(raw: bytes, decoded: Any, is_json: bool) -> dict[str, Any]:
    if not is_json:
        snippet = raw[:INVALID_JSON_SNIPPET].decode("utf-8", "replace")
        raise envelope(400, f"Invalid JSON payload received. Unexpected token.\n{snippet}\n^")
    if not isinstance(decoded, dict):
        raise invalid_payload([("", "Root element must be a message.")])
    return decoded


def v1internal_endpoint(state: CloudCodeState) -> Callable[[Request], Awaitable[Response]]:
    """`POST /v1internal:<method>`: authenticate, log, run scripted faults, dispatch."""

    async def endpoint(request: Request) -> Response:
        method = request.path_params["method"]
        stream = method == STREAM_METHOD
        raw = await request.body()
        decoded, is_json = decode_body(raw)
        account_name: str | None = None
        try:
            try:
                account_name = authenticate(request, method)
            finally:
                state.emulator.record(request, account=account_name, body=decoded)
            handler = METHODS.get(method)
            if handler is None:
                raise envelope(404, f"Method not found: v1internal:{method}")
            if method not in GENERATION_METHODS:
                fault = take_fault(
                    state.emulator, account=account_name, model=None, method=method, kinds=ERROR_FAULTS
                )
                if fault is not None:
                    raise fault_error(fault, model="", project="", method=method)
            body = parse_json(raw, decoded, is_json)
            return await handler(state, Call(request, method, state.account(account_name), body))
        except CloudCodeError as error:
            return error_answer(error, stream=stream, trace_id=new_trace_id())

    return endpoint


def create_app(
    *,
    quota_requests: int = DEFAULT_QUOTA_REQUESTS,
    quota_window_s: float = DEFAULT_QUOTA_WINDOW_S,
    onboard_polls: int = DEFAULT_ONBOARD_POLLS,
) -> Starlette:
    """A fresh emulator; `app.state.emulator` is its EmulatorState, `app.state.cloudcode` the rest."""
    emulator = EmulatorState(name=EMULATOR_NAME, known_faults=KNOWN_FAULTS)
    state = CloudCodeState(
        emulator=emulator,
        quota_requests=quota_requests,
        quota_window_s=quota_window_s,
        onboard_polls=onboard_polls,
    )

    routes = [
        Route("/v1internal:{method}", v1internal_endpoint(state), methods=["POST"]),
        *control_routes(emulator, on_reset=state.reset),
        *cloudcode_control_routes(state),
    ]
    app = Starlette(routes=routes)
    app.state.emulator = emulator
    app.state.cloudcode = state
    return app
