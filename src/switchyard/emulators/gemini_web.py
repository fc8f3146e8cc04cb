"""A faithful fake of gemini.google.com (and the Google hosts around it), per protocols/gemini-web.md.

The app routes by `Host`, because `gemini_webapi` reaches it through the HTTPS proxy in
`tls_proxy.py` with the real hostnames:

    gemini.google.com            GET /app (and /u/<n>/app), POST .../batchexecute, POST .../StreamGenerate
    www.google.com               GET /  (preflight, sets NID)
    accounts.google.com          POST /RotateCookies
    content-push.googleapis.com  POST /upload (multipart, and the resumable start/upload protocol)
    lh3.googleusercontent.com    GET /gg-dl/<token>=s1024-rj ..., /rd-gg-dl/<token> (generated images)
    work.fife.usercontent.google.com  GET /rd-gg-dl/<token> (full-size download hop)
    any other host               the control API: /_control/faults|requests|reset|accounts|script

Faults (POST /_control/faults, matched on account name and model id/name) apply to StreamGenerate,
except `cookies_expired`, which kills the account's session at its next request of any kind.
`empty_answer` is error 1155: an HTTP 200 with no content frame, a transient refusal (§13.2).

Today's service (§13): the model is chosen by the header's hex only; extended thinking only by the
header's index 15 (`inner[80]` alone selects nothing); a prompt beyond `prompt_cap_bytes` UTF-8
bytes is cut silently from its end; gated models are served by Flash-Lite; most answers refresh
the `*SIDCC` cookies. `POST /_control/script` queues the text of the next matching answers.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Host, Route, Router

from switchyard.emulators import gemini_web_accounts as acct
from switchyard.emulators import gemini_web_frames as wire
from switchyard.emulators.base import EmulatorState, Fault, apply_delay, control_routes
from switchyard.emulators.cloudcode_scripts import Scripts
from switchyard.emulators.gemini_web_chat import ChatStore, plan_turn, stream_frames, turn_frames, wants_image
from switchyard.emulators.gemini_web_images import FIFE_WORK_HOST, LH3_HOST
from switchyard.emulators.gemini_web_pages import app_page, logged_out_page
from switchyard.emulators.gemini_web_rpc import ANSWERED, REJECTED, RpcHandler, batch_response, user_status
from switchyard.emulators.gemini_web_tools import wants_video
from switchyard.emulators.gemini_web_uploads import image_routes, upload_routes

GEMINI_HOST = "gemini.google.com"
BATCH_PATH = "/_/BardChatUi/data/batchexecute"
GENERATE_PATH = "/_/BardChatUi/data/assistant.lamda.BardFrontendService/StreamGenerate"
ERROR_FAULT_CODES = {
    "usage_limit": 1037,
    "quota_exhausted": 1037,
    "ip_blocked": 1060,
    "temporary_error": 1013,
    "model_invalid": 1052,
    "multi_turn_throttled": 1097,
}
CODE_EMPTY_ANSWER = 1155  # an HTTP 200 with no content frame (§13.2)
HTTP_FAULT_STATUS = {
    "rate_limited": 429,
    "server_error": 500,
    "capacity": 503,
    "unauthenticated": 401,
    "forbidden": 403,
}
KNOWN_FAULTS = frozenset(
    {*ERROR_FAULT_CODES, *HTTP_FAULT_STATUS, "error_code", "rejected", "silent_abort", "empty_answer"}
    | {"drop_after_events", "delay_ms", "cookies_expired"}
)
CODE_MODEL_INCONSISTENT = 1050
DEFAULT_ERROR_CODE = 1013
CODE_MODEL_HEADER_INVALID = 1052
FRAME_DELAY_S = 0.02
XSSI_CONTENT_TYPE = "application/json; charset=utf-8"
PROMPT_CAP_BYTES = 130_000
"""About what one request carries; the excess is cut from the end, where the newest message is."""
SIDCC_COOKIES = ("SIDCC", "__Secure-1PSIDCC", "__Secure-3PSIDCC")
GUEST_TOOL_REFUSAL = "Are you signed in? Sign in to create images, videos and music with Gemini."


@dataclass
class GeminiWebState(EmulatorState):
    """Faults and request log (base), plus accounts, conversations, uploads and images."""

    registry: acct.AccountRegistry = field(default_factory=acct.AccountRegistry)
    chats: ChatStore = field(default_factory=ChatStore)
    frame_delay_s: float = FRAME_DELAY_S
    pending_uploads: dict[str, str] = field(default_factory=dict)  # resumable upload id -> file name
    request_counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    scripts: Scripts = field(default_factory=Scripts)
    prompt_cap_bytes: int = PROMPT_CAP_BYTES

    def next_request_number(self) -> int:
        return next(self.request_counter)

    def session(self, request: Request) -> tuple[acct.WebAccount | None, acct.WebAccount | None]:
        """(the account the cookies name, that account if its session is alive).

        Consumes a queued `cookies_expired` fault for the named account, which kills it for good.
        """
        named = self.registry.identify(request.cookies)
        if (
            named is not None
            and not named.expired
            and self.take_fault(named.name, None, kinds={"cookies_expired"}) is not None
        ):
            named.expired = True
        return named, self.registry.by_cookies(request.cookies)

    def scripted_reply(self, account: str, names: tuple[str, ...]) -> dict[str, Any] | None:
        for name in names:
            reply = self.scripts.take(account, name)
            if reply is not None:
                return reply
        return self.scripts.take(account, "")

    def generation_fault(self, account: str, names: tuple[str, ...]) -> Fault | None:
        kinds = KNOWN_FAULTS - {"cookies_expired"}
        for name in names:
            fault = self.take_fault(account, name, kinds=kinds)
            if fault is not None:
                return fault
        return None


def _state(request: Request) -> GeminiWebState:
    state: GeminiWebState = request.app.state.emulator
    return state


async def _form(request: Request) -> dict[str, str]:
    async with request.form() as form:
        return {key: value for key, value in form.items() if isinstance(value, str)}


def _parse_json(text: str | None) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text


def _xssi(body: str, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type=XSSI_CONTENT_TYPE)


def _error_stream(code: int | None, request_number: int) -> Response:
    """HTTP 200 whose stream holds only an error frame (or nothing, for a silent abort) (§4.3)."""
    frames = [wire.frame([wire.error_envelope(code)])] if code is not None else []
    sent = sum(wire.utf16_len(f) for f in frames)
    return _xssi(wire.XSSI_PREFIX + "".join(frames) + "".join(wire.bookkeeping_frames(sent, request_number)))


# ---------------------------------------------------------------- gemini.google.com


async def app_page_route(request: Request) -> Response:
    state = _state(request)
    named, account = state.session(request)
    state.record(
        request, account=named.name if named else None, body=None, extra={"logged_in": bool(account)}
    )
    if account is None:
        return Response(logged_out_page(), media_type="text/html; charset=utf-8")
    return Response(app_page(account), media_type="text/html; charset=utf-8")


async def batchexecute(request: Request) -> Response:
    state = _state(request)
    named, account = state.session(request)
    form = await _form(request)
    try:
        calls = wire.parse_batch_request(form.get("f.req", ""))
    except ValueError:
        calls = []
    body = {
        "at": form.get("at"),
        "f.req": _parse_json(form.get("f.req")),
        "rpcs": [
            {"rpcid": rpcid, "payload": payload, "identifier": ident} for rpcid, payload, ident in calls
        ],
    }
    state.record(
        request, account=named.name if named else None, body=body, extra={"rpcids": [c[0] for c in calls]}
    )
    if not calls:
        return PlainTextResponse("Bad Request", status_code=400)
    request_number = state.next_request_number()
    if account is None:
        # a dead session still gets 200: otAQ7b reports 1016, the rest are rejected with [7] (§1.5)
        dead = [
            (rpcid, ident, user_status(None), ANSWERED)
            if rpcid == "otAQ7b"
            else (rpcid, ident, None, REJECTED)
            for rpcid, _, ident in calls
        ]
        return _xssi(batch_response(dead, request_number))
    if form.get("at") != account.access_token:
        return PlainTextResponse("Bad Request", status_code=400)
    handler = RpcHandler(state.chats, account)
    results = [(rpcid, ident, *handler.answer(rpcid, payload)) for rpcid, payload, ident in calls]
    return _xssi(batch_response(results, request_number))


async def stream_generate(request: Request) -> Response:
    state = _state(request)
    named, account = state.session(request)
    form = await _form(request)
    freq_text = form.get("f.req", "")
    try:
        parsed, inner = wire.parse_stream_request(freq_text)
    except (ValueError, TypeError):
        parsed, inner = None, None
    try:
        model_id, capacity, header_thinking = wire.parse_model_header(request.headers.get(wire.MODEL_HEADER))
    except (ValueError, TypeError):
        model_id, capacity, header_thinking = "<unparseable>", None, False
    body = {"at": form.get("at"), "f.req": _parse_json(freq_text), "inner": inner}
    extra: dict[str, Any] = {
        "model": model_id,
        "cid": parsed.cid if parsed else None,
        "prompt": parsed.prompt if parsed else None,
        "extended_thinking": header_thinking,
    }
    if parsed is not None:
        extra["prompt_bytes"] = len(parsed.prompt.encode())
        parsed.prompt = _cut(parsed.prompt, state.prompt_cap_bytes)
        extra["cut"] = extra["prompt_bytes"] > state.prompt_cap_bytes
    state.record(request, account=named.name if named else None, body=body, extra=extra)
    guest = account is None and form.get("at") == "" and parsed is not None
    if account is None and not guest:
        return PlainTextResponse("Unauthorized", status_code=401)
    if guest:
        # No signed-in session and `at=""`: a guest turn (§13.2), Flash only, anything else Flash-Lite.
        account = state.registry.guest
    assert account is not None
    if parsed is None or (not guest and form.get("at") != account.access_token):
        return PlainTextResponse("Bad Request", status_code=400)  # a signed-in request needs `at`
    if not _uuid_matches(request.headers.get(wire.REQUEST_UUID_HEADER), parsed.request_uuid):
        return PlainTextResponse("Bad Request", status_code=400)
    request_number = state.next_request_number()
    model = acct.guest_model(model_id) if guest else account.model(model_id)
    if model is None or (not guest and capacity is not None and capacity != account.capacity):
        return _error_stream(CODE_MODEL_HEADER_INVALID, request_number)
    conversation = None
    if parsed.cid:
        conversation = state.chats.conversations.get(parsed.cid)
        if conversation is None or conversation.account != account.name:
            return PlainTextResponse("Bad Request", status_code=400)
        if conversation.model_id != model.model_id:
            return _error_stream(CODE_MODEL_INCONSISTENT, request_number)
    fault = state.generation_fault(account.name, model.names)
    await apply_delay(fault)
    if fault is not None and (refusal := _fault_response(fault, request_number)) is not None:
        return refusal
    drop_after = None
    if fault is not None and fault.fault == "drop_after_events":
        drop_after = int(fault.params.get("events", fault.params.get("after", 1)))
    served = account.served(model)
    scripted = state.scripted_reply(account.name, model.names)
    if guest:
        header_thinking = False  # extended thinking needs a signed-in session (§13.1)
        if wants_image(parsed.prompt, []) or wants_video(parsed.prompt):
            scripted = {"text": GUEST_TOOL_REFUSAL}
    # Extended thinking is the header's index 15; `inner[80]` alone selects nothing (§13.1).
    plan = plan_turn(
        state.chats, account, model, parsed, conversation, header_thinking, served=served, scripted=scripted
    )
    frames = turn_frames(plan)
    response = StreamingResponse(
        stream_frames(frames, request_number, state.frame_delay_s, drop_after), media_type=XSSI_CONTENT_TYPE
    )
    _refresh_sidcc(response)
    return response


def _cut(prompt: str, cap: int) -> str:
    """What the web app keeps of a prompt: its first `cap` UTF-8 bytes (§13.2)."""
    data = prompt.encode()
    return prompt if len(data) <= cap else data[:cap].decode(errors="ignore")


def _refresh_sidcc(response: Response) -> None:
    """Nearly every answer re-sets the `*SIDCC` cookies (§13.2)."""
    for name in SIDCC_COOKIES:
        response.set_cookie(name, acct.new_psidts()[6:60], domain=".google.com", secure=True, httponly=True)


def _fault_response(fault: Fault, request_number: int) -> Response | None:
    """What a queued fault answers instead of the turn (None: the turn is served, maybe altered)."""
    if fault.fault in HTTP_FAULT_STATUS:
        return PlainTextResponse(fault.fault, status_code=HTTP_FAULT_STATUS[fault.fault])
    if fault.fault in ERROR_FAULT_CODES or fault.fault == "error_code":
        code = ERROR_FAULT_CODES.get(fault.fault) or int(fault.params.get("code", DEFAULT_ERROR_CODE))
        return _error_stream(code, request_number)
    if fault.fault == "silent_abort":
        return _error_stream(None, request_number)
    if fault.fault == "empty_answer":
        return _error_stream(CODE_EMPTY_ANSWER, request_number)
    if fault.fault == "rejected":
        rejection = wire.frame([wire.rejected_envelope()])
        return _xssi(wire.XSSI_PREFIX + rejection + "".join(wire.bookkeeping_frames(0, request_number)))
    return None


def _uuid_matches(header: str | None, inner_uuid: str | None) -> bool:
    if not header or not inner_uuid:
        return True
    value = _parse_json(header)
    return not (isinstance(value, list) and value and isinstance(value[0], str) and value[0] != inner_uuid)


# ---------------------------------------------------------------- www / accounts.google.com


async def google_home(request: Request) -> Response:
    _state(request).record(request, account=None, body=None)
    response = Response("<!doctype html><title>Google</title>", media_type="text/html; charset=utf-8")
    response.set_cookie("NID", acct.new_psidts()[6:40], domain=".google.com", secure=True, httponly=True)
    return response


async def rotate_cookies(request: Request) -> Response:
    state = _state(request)
    named, account = state.session(request)
    state.record(
        request, account=named.name if named else None, body=(await request.body()).decode("latin-1")
    )
    if account is None:
        return PlainTextResponse("Unauthorized", status_code=401)
    if (
        account.last_rotation
        and asyncio.get_running_loop().time() - account.last_rotation < acct.ROTATE_MIN_INTERVAL_S
    ):
        return PlainTextResponse("Too Many Requests", status_code=429)
    new_value = account.rotate()
    account.last_rotation = asyncio.get_running_loop().time()
    response = _xssi(wire.XSSI_PREFIX + '[["identity.hfcr",600],["di",58]]')
    response.set_cookie(
        acct.PSIDTS_COOKIE,
        new_value,
        max_age=400 * 86400,
        domain=".google.com",
        secure=True,
        httponly=True,
        samesite="none",
    )
    return response


# ---------------------------------------------------------------- control API


async def post_account(request: Request) -> Response:
    try:
        spec = await request.json()
        if not isinstance(spec, dict):
            raise ValueError("the body must be a JSON object")
        account = _state(request).registry.register(spec)
    except ValueError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    return JSONResponse(account.public(reveal=True))


async def list_accounts(request: Request) -> Response:
    return JSONResponse([a.public() for a in _state(request).registry.accounts.values()])


async def set_account_picker(request: Request) -> Response:
    """`{"offer": [...], "gated": [...]}`: change what the account's picker lists and gates."""
    account = _state(request).registry.accounts.get(request.path_params["name"])
    if account is None:
        return JSONResponse({"error": "unknown account"}, status_code=404)
    try:
        spec = await request.json()
        if not isinstance(spec, dict):
            raise ValueError("the body must be a JSON object")
        acct.set_picker(account, spec)
    except ValueError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    return JSONResponse(account.public())


async def post_script(request: Request) -> Response:
    """Queue scripted answer texts (api-contract.md "Emulator control API"); web replies are text only:
    a tool call is whatever text the model writes, e.g. a gateway's tool-call block."""
    state = _state(request)
    try:
        spec = await request.json()
        if not isinstance(spec, dict):
            raise ValueError("the body must be a JSON object")
        replies = spec.get("replies")
        if isinstance(replies, list) and any(not isinstance(r, dict) or "text" not in r for r in replies):
            raise ValueError('Gemini web replies are {"text": "..."}: the web app answers text only')
        state.scripts.add(spec)
    except ValueError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    return JSONResponse({"queued": state.scripts.public()})


async def list_scripts(request: Request) -> Response:
    return JSONResponse(_state(request).scripts.public())


async def expire_account(request: Request) -> Response:
    account = _state(request).registry.accounts.get(request.path_params["name"])
    if account is None:
        return JSONResponse({"error": "unknown account"}, status_code=404)
    account.expired = True
    return JSONResponse(account.public())


def _gemini_routes() -> list[Route]:
    routes = []
    for prefix in ("", "/u/{user:int}"):
        routes += [
            Route(prefix + "/app", app_page_route, methods=["GET"]),
            Route(prefix + "/app/{conversation:path}", app_page_route, methods=["GET"]),
            Route(prefix + BATCH_PATH, batchexecute, methods=["POST"]),
            Route(prefix + GENERATE_PATH, stream_generate, methods=["POST"]),
        ]
    return routes


def create_app(
    accounts: list[dict[str, Any]] | None = None,
    frame_delay_s: float = FRAME_DELAY_S,
    research_delay_s: float = 2.0,
    video_delay_s: float = 4.0,
    prompt_cap_bytes: int = PROMPT_CAP_BYTES,
) -> Starlette:
    """The emulator app; `accounts` are registered at once (the same specs as POST /_control/accounts).

    `frame_delay_s` spaces the stream's frames; a deep research report is ready `research_delay_s`
    after it starts; a video's URLs appear halfway through `video_delay_s` and its file answers 206
    until the end.
    """
    state = GeminiWebState(name="gemini-web", known_faults=KNOWN_FAULTS, frame_delay_s=frame_delay_s)
    state.chats.research_delay_s = research_delay_s
    state.chats.video_delay_s = video_delay_s
    state.prompt_cap_bytes = prompt_cap_bytes
    for spec in accounts or []:
        state.registry.register(spec)
    routes: list[Any] = [
        Host(GEMINI_HOST, app=Router(_gemini_routes())),
        Host("www.google.com", app=Router([Route("/", google_home, methods=["GET"])])),
        Host("accounts.google.com", app=Router([Route("/RotateCookies", rotate_cookies, methods=["POST"])])),
        Host("content-push.googleapis.com", app=Router(upload_routes())),
        Host("push.clients6.google.com", app=Router(upload_routes())),
        Host(LH3_HOST, app=Router(image_routes(LH3_HOST))),
        Host(FIFE_WORK_HOST, app=Router(image_routes(FIFE_WORK_HOST))),
        *control_routes(state, on_reset=state.scripts.reset),
        Route("/_control/accounts", post_account, methods=["POST"]),
        Route("/_control/accounts", list_accounts, methods=["GET"]),
        Route("/_control/accounts/{name}/expire", expire_account, methods=["POST"]),
        Route("/_control/accounts/{name}/picker", set_account_picker, methods=["POST"]),
        Route("/_control/script", post_script, methods=["POST"]),
        Route("/_control/script", list_scripts, methods=["GET"]),
    ]
    app = Starlette(routes=routes)
    app.state.emulator = state
    return app
