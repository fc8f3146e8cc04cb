"""What every emulator shares: scripted faults, a request log with secrets masked, the control API.

Emulators are faithful fakes of Google's services, written from `shared/protocols/`, never from the
gateway's code: they import only the standard library, Starlette and this module (and `tokens.py`).
Each emulator is a Starlette app built by a `create_app()` function, so it can run alone
(`switchyard emulate NAME`) or be mounted under another app (`switchyard demo`).

Control API (api-contract.md, "Emulator control API"):
    POST /_control/faults    {"match": {"account": .., "model": ..}, "fault": "rate_limited", "times": 1, ...}
    GET  /_control/faults    the faults still queued
    GET  /_control/requests  the request log, oldest first
    POST /_control/reset     clear faults and the log
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

SECRET_HEADERS = frozenset({"authorization", "cookie", "x-goog-api-key", "proxy-authorization", "set-cookie"})
SECRET_FIELDS = frozenset(
    {"refresh_token", "access_token", "client_secret", "code", "id_token", "password", "at", "psid", "psidts"}
)
REQUEST_LOG_LIMIT = 5000


def mask(value: str) -> str:
    """Keep only the last 4 characters of a secret, so tests can still tell two secrets apart."""
    if len(value) <= 4:
        return "****"
    return "…" + value[-4:]


def mask_header(name: str, value: str) -> str:
    if name.lower() not in SECRET_HEADERS:
        return value
    if name.lower() == "cookie":
        parts = []
        for item in value.split(";"):
            key, _, val = item.strip().partition("=")
            parts.append(f"{key}={mask(val)}")
        return "; ".join(parts)
    scheme, _, token = value.partition(" ")
    return f"{scheme} {mask(token)}" if token else mask(value)


def mask_fields(data: Any) -> Any:
    """Mask secret-named fields anywhere in a parsed body."""
    if isinstance(data, dict):
        return {
            key: (mask(val) if key in SECRET_FIELDS and isinstance(val, str) else mask_fields(val))
            for key, val in data.items()
        }
    if isinstance(data, list):
        return [mask_fields(item) for item in data]
    return data


@dataclass
class Fault:
    """One scripted failure, consumed by the next `times` matching requests."""

    fault: str
    times: int = 1
    account: str | None = None
    model: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def matches(self, account: str | None, model: str | None) -> bool:
        if self.account is not None and self.account != account:
            return False
        return not (self.model is not None and self.model != model)

    def public(self) -> dict[str, Any]:
        match = {k: v for k, v in (("account", self.account), ("model", self.model)) if v is not None}
        return {"fault": self.fault, "times": self.times, "match": match, **self.params}


@dataclass
class EmulatorState:
    """Faults and the request log of one emulator. Single event loop, so no locking is needed."""

    name: str
    known_faults: frozenset[str]
    faults: list[Fault] = field(default_factory=list)
    requests: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=REQUEST_LOG_LIMIT))

    def add_fault(self, spec: dict[str, Any]) -> Fault:
        name = spec.get("fault")
        if name not in self.known_faults:
            raise ValueError(f"unknown fault {name!r}; known: {', '.join(sorted(self.known_faults))}")
        match = spec.get("match") or {}
        params = {k: v for k, v in spec.items() if k not in {"fault", "times", "match"}}
        fault = Fault(
            fault=name,
            times=int(spec.get("times", 1)),
            account=match.get("account"),
            model=match.get("model"),
            params=params,
        )
        self.faults.append(fault)
        return fault

    def take_fault(
        self, account: str | None, model: str | None, kinds: Iterable[str] | None = None
    ) -> Fault | None:
        """Consume one use of the first queued fault that matches (and is of one of `kinds`)."""
        allowed = set(kinds) if kinds is not None else None
        for fault in self.faults:
            if allowed is not None and fault.fault not in allowed:
                continue
            if fault.matches(account, model):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def record(
        self,
        request: Request,
        *,
        account: str | None,
        body: Any,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "time": time.time(),
            "method": request.method,
            "path": request.url.path,
            "query": dict(request.query_params),
            "host": request.headers.get("host"),
            "account": account,
            "headers": {k: mask_header(k, v) for k, v in request.headers.items()},
            "body": mask_fields(body),
        }
        if extra:
            entry.update(extra)
        self.requests.append(entry)
        return entry

    def reset(self) -> None:
        self.faults.clear()
        self.requests.clear()


async def read_body(request: Request) -> Any:
    """The body as the log wants it: parsed JSON, form fields, or text."""
    raw = await request.body()
    if not raw:
        return None
    content_type = request.headers.get("content-type", "")
    if "json" in content_type or raw[:1] in (b"{", b"["):
        try:
            return json.loads(raw)
        except ValueError:
            pass
    if "form-urlencoded" in content_type:
        return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    return raw.decode("utf-8", "replace")[:10_000]


def control_routes(state: EmulatorState, on_reset: Callable[[], None] | None = None) -> list[Route]:
    """The `/_control/*` routes every emulator mounts."""

    async def post_fault(request: Request) -> Response:
        try:
            spec = await request.json()
            if not isinstance(spec, dict):
                raise ValueError("the body must be a JSON object")
            fault = state.add_fault(spec)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"queued": fault.public()})

    async def get_faults(request: Request) -> Response:
        return JSONResponse([fault.public() for fault in state.faults])

    async def get_requests(request: Request) -> Response:
        return JSONResponse(list(state.requests))

    async def post_reset(request: Request) -> Response:
        state.reset()
        if on_reset is not None:
            on_reset()
        return JSONResponse({"reset": True})

    return [
        Route("/_control/faults", post_fault, methods=["POST"]),
        Route("/_control/faults", get_faults, methods=["GET"]),
        Route("/_control/requests", get_requests, methods=["GET"]),
        Route("/_control/reset", post_reset, methods=["POST"]),
    ]


async def apply_delay(fault: Fault | None) -> None:
    """The `delay_ms` fault: answer late (the request is otherwise served normally)."""
    if fault is not None and fault.fault == "delay_ms":
        await asyncio.sleep(float(fault.params.get("delay_ms", fault.params.get("ms", 1000))) / 1000)


Handler = Callable[[Request], Awaitable[Response]]
