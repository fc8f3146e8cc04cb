"""The decision table's rows for today's upstream (protocols/antigravity.md §12.3, §12.6), through the
whole gateway. A scripting front sits before the Cloud Code emulator: every generation call still
reaches the emulator (so `seen` knows the account), and a queued answer replaces its reply — for the
answers the emulator does not give (refusal texts in 200 replies, today's 403 bodies)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.pool.conftest import FLASH, generate, seen, state_of, stored
from tests.stack import Stack, antigravity_stack

RETIRED = "Gemini 2.5 Flash is no longer available. Please switch to Gemini 3.1 Flash Lite"
GATED = "Gemini 2.5 Flash is not available on this version. Please upgrade to the latest version."
OUTDATED = (
    "This version of Antigravity is no longer supported. Please upgrade to receive the latest features."
)
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"


class Front:
    """Forwards to the emulator; replaces a generation reply with the next scripted answer."""

    def __init__(self) -> None:
        self.script: list[tuple[int, bytes, str]] = []

    def app(self, upstream: str) -> Starlette:
        async def forward(request: Request) -> Response:
            path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            keep = {"authorization", "content-type", "user-agent", "accept"}
            headers = {k: v for k, v in request.headers.items() if k in keep}
            async with httpx.AsyncClient() as http:
                reply = await http.post(
                    upstream + path, content=await request.body(), headers=headers, timeout=30
                )
            if self.script and "generatecontent" in request.url.path.lower():
                status, content, media_type = self.script.pop(0)
                return Response(content, status_code=status, media_type=media_type)
            return Response(
                reply.content, status_code=reply.status_code, media_type=reply.headers["content-type"]
            )

        return Starlette(routes=[Route("/{path:path}", forward, methods=["POST"])])

    def refusal(self, text: str, *, stream: bool = False) -> None:
        event = {
            "response": {
                "candidates": [
                    {"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP"}
                ]
            }
        }
        if stream:
            self.script.append((200, b"data: " + orjson.dumps(event) + b"\r\n\r\n", "text/event-stream"))
        else:
            self.script.append((200, orjson.dumps(event), "application/json"))

    def error(self, code: int, status: str, message: str, *details: dict[str, Any]) -> None:
        error: dict[str, Any] = {"code": code, "message": message, "status": status}
        if details:
            error["details"] = list(details)
        self.script.append((code, orjson.dumps({"error": error}), "application/json"))


@pytest.fixture
def front() -> Front:
    return Front()


@pytest.fixture
def stack(tmp_path: Path, front: Front) -> Iterator[Stack]:
    with antigravity_stack(
        tmp_path, accounts_count=3, quota_refresh_interval_s=0, front=front.app
    ) as running:
        yield running


@pytest.fixture
def key(stack: Stack) -> str:
    return stack.create_key()


def _no_cooldowns(stack: Stack) -> bool:
    return all(row.cooldown_until is None for s in stored(stack).values() for row in s.states.values())


def test_a_retired_model_is_served_by_its_replacement_and_rests_nothing(
    stack: Stack, key: str, front: Front
) -> None:
    front.refusal(RETIRED)
    response = generate(stack, key)
    assert response.status_code == 200, response.text
    assert response.headers["x-switchyard-upstream-model"] == "gemini-3.1-flash-lite"
    models = [entry["body"]["model"] for entry in stack.upstream_requests(":generateContent")]
    assert models == [FLASH, "gemini-3.1-flash-lite"], "learned before the first byte, sent once more"
    assert len(set(seen(stack))) == 1, "the same account serves the replacement"
    assert _no_cooldowns(stack)
    again = generate(stack, key)
    assert (
        again.status_code == 200 and again.headers["x-switchyard-upstream-model"] == "gemini-3.1-flash-lite"
    )
    assert stack.upstream_requests(":generateContent")[-1]["body"]["model"] == "gemini-3.1-flash-lite"


def test_a_retired_model_in_a_stream_is_never_an_answer(stack: Stack, key: str, front: Front) -> None:
    front.refusal(RETIRED, stream=True)
    response = httpx.post(
        f"{stack.gateway}/antigravity/v1beta/models/{FLASH}:streamGenerateContent?alt=sse",
        headers={"x-goog-api-key": key},
        json={"contents": [{"role": "user", "parts": [{"text": "hi"}]}]},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert "no longer available" not in response.text
    assert response.headers["x-switchyard-upstream-model"] == "gemini-3.1-flash-lite"


@pytest.mark.parametrize("stream", [False, True])
def test_a_retirement_naming_no_model_we_serve_is_a_clear_404(
    stack: Stack, key: str, front: Front, stream: bool
) -> None:
    front.refusal(f"{FLASH} is no longer available. Please switch to Gemini 9 Ultra.", stream=stream)
    method = "streamGenerateContent?alt=sse" if stream else "generateContent"
    response = httpx.post(
        f"{stack.gateway}/antigravity/v1beta/models/{FLASH}:{method}",
        headers={"x-goog-api-key": key},
        json={"contents": [{"role": "user", "parts": [{"text": "hi"}]}]},
        timeout=30,
    )
    assert response.status_code == 404, response.text
    message = response.json()["error"]["message"]
    assert "no longer available" in message and "Gemini 9 Ultra" in message
    assert _no_cooldowns(stack)
    calls = len(stack.upstream_requests(":generateContent"))
    again = generate(stack, key)
    assert again.status_code == 404 and "Gemini 9 Ultra" in again.json()["error"]["message"]
    assert len(stack.upstream_requests(":generateContent")) == calls, "refused without asking the upstream"


def test_a_version_gated_model_is_tried_on_one_other_account(stack: Stack, key: str, front: Front) -> None:
    front.refusal(GATED)
    response = generate(stack, key)
    assert response.status_code == 200, response.text
    gated, served = seen(stack)
    assert gated != served
    assert _no_cooldowns(stack)


def test_a_404_is_tried_on_one_other_account_then_reaches_the_client(
    stack: Stack, key: str, front: Front
) -> None:
    for _ in range(3):
        front.error(404, "NOT_FOUND", "Requested entity was not found.")
    response = generate(stack, key)
    assert response.status_code == 404, response.text
    assert len(set(seen(stack))) == 2, "one other account, not every account"
    assert _no_cooldowns(stack)


def test_an_outdated_client_rests_the_account_for_an_hour_and_says_how_to_fix_it(
    stack: Stack, key: str, front: Front
) -> None:
    front.refusal(OUTDATED)
    assert generate(stack, key).status_code == 200
    outdated, served = seen(stack)
    assert outdated != served
    state = state_of(stack, outdated, "cooldown_until")
    assert state.cooldown_until == pytest.approx(time.time() + 3600, abs=30)
    assert state.cooldown_reason is not None and "--user-agent" in state.cooldown_reason
    assert stored(stack)[outdated].status == "active"


SYSTEM = {"parts": [{"text": "Rules. RFC 2119: MUST, REQUIRED, SHOULD, RECOMMENDED, MAY, OPTIONAL."}]}


def test_the_content_filter_fails_the_request_clearly_and_rests_no_account(stack: Stack, key: str) -> None:
    stack.fault("bare_429", times=2)
    response = generate(stack, key, systemInstruction=SYSTEM)
    assert response.status_code == 400, response.text
    message = response.json()["error"]["message"]
    assert "system prompt" in message and "quota" in message
    first, second = seen(stack)
    assert first == second, "retried once on the same account, no other account tried"
    assert _no_cooldowns(stack)


def test_a_terms_of_service_ban_marks_the_account_dead_with_the_appeal_url(
    stack: Stack, key: str, front: Front
) -> None:
    appeal = "https://support.google.com/gemini/answer/appeal"
    front.error(
        403,
        "PERMISSION_DENIED",
        "This service has been disabled in this account for violation of Terms of Service. Please submit an appeal.",
        {"@type": ERROR_INFO, "reason": "TOS_VIOLATION", "metadata": {"appeal_url": appeal}},
    )
    assert generate(stack, key).status_code == 200
    banned, served = seen(stack)
    assert banned != served
    account = stored(stack)[banned]
    assert account.status == "dead" and account.status_url == appeal
    assert account.status_reason is not None and "Terms of Service" in account.status_reason


def test_a_project_refused_twice_disables_the_account_with_the_activation_link(
    stack: Stack, key: str, front: Front
) -> None:
    activation = (
        "https://console.developers.google.com/apis/api/cloudcode-pa.googleapis.com/overview?project=9"
    )
    for _ in range(2):
        front.error(
            403,
            "PERMISSION_DENIED",
            "Cloud Code Private API has not been used in project 9 before or it is disabled.",
            {
                "@type": ERROR_INFO,
                "reason": "SERVICE_DISABLED",
                "domain": "googleapis.com",
                "metadata": {"serviceTitle": "Cloud Code Private API", "activationUrl": activation},
            },
        )
    assert generate(stack, key).status_code == 200
    refused, again, served = seen(stack)
    assert refused == again != served
    account = stored(stack)[refused]
    assert account.status == "forbidden" and account.status_url == activation
    assert account.status_reason is not None and "Cloud Code Private API" in account.status_reason
