"""AntigravityClient on today's upstream (§12.3, §12.6): refusals sent as 200 answers, the
system-prompt content filter, a project that is not the account's, the per-account User-Agent.

The refusal answers come from a small local app (the Cloud Code emulator does not send them yet);
the rest drives the emulator's fault injection."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from switchyard.emulators.cloudcode_catalogue import derive_project_id
from switchyard.errors import (
    AccountForbidden,
    ClientOutdated,
    ModelRetired,
    ModelVersionGated,
    PromptRefused,
)
from switchyard.providers.antigravity import AntigravityClient
from tests.servers import serve

from .conftest import Emulator, register_account, upstream_settings

pytestmark = pytest.mark.anyio

GENERATE = "/v1internal:generateContent"
STREAM = "/v1internal:streamGenerateContent"
RETIRED = "Claude Sonnet 4.5 is no longer available. Please switch to Claude Sonnet 4.6 in the latest version of Antigravity."
GATED = "Gemini 3.1 Pro is not available on this version. Please upgrade to the latest version."
OUTDATED = "This version of Antigravity is no longer supported. Please update to receive the latest features!"
ZWSP = "\u200b"


def _event(text: str, finish: bool) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]}}
    if finish:
        candidate["finishReason"] = "STOP"
    return {"response": {"candidates": [candidate], "responseId": "r1"}}


def answering(pieces: list[str]) -> Starlette:
    """A Cloud Code stand-in whose every answer is `pieces` (one stream event each)."""

    async def generate(request: Request) -> Response:
        return JSONResponse(_event("".join(pieces), finish=True))

    async def stream(request: Request) -> Response:
        events = [_event(piece, finish=i == len(pieces) - 1) for i, piece in enumerate(pieces)]
        body = b"".join(b"data: " + orjson.dumps(event) + b"\r\n\r\n" for event in events)
        return Response(body, media_type="text/event-stream")

    return Starlette(
        routes=[
            Route("/v1internal:generateContent", generate, methods=["POST"]),
            Route("/v1internal:streamGenerateContent", stream, methods=["POST"]),
        ]
    )


@pytest.fixture
def refusing(request: pytest.FixtureRequest) -> Iterator[str]:
    with serve(answering(request.param)) as url:
        yield url


def hello(system: str | None = None) -> dict[str, Any]:
    request: dict[str, Any] = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    if system is not None:
        request["systemInstruction"] = {"parts": [{"text": system}]}
    return request


async def _collect(client: AntigravityClient, account: Any, model: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    async for batch in client.stream(account, model, hello()):
        events.extend(batch)
    return events


@pytest.mark.parametrize("refusing", [[RETIRED]], indirect=True)
async def test_a_retired_model_answer_is_model_retired_with_the_replacement(
    oauth: Emulator, refusing: str
) -> None:
    account = register_account(oauth, "antigravity-1", project_id="p-1")
    client = AntigravityClient(upstream_settings(oauth, refusing))
    try:
        with pytest.raises(ModelRetired) as caught:
            await client.generate(account, "claude-sonnet-4-5", hello())
    finally:
        await client.aclose()
    assert caught.value.replacement_name == "Claude Sonnet 4.6"
    assert caught.value.model and caught.value.status == 404


@pytest.mark.parametrize(
    ("refusing", "expected"),
    [([GATED], ModelVersionGated), ([OUTDATED], ClientOutdated)],
    indirect=["refusing"],
)
async def test_version_refusals_are_errors(oauth: Emulator, refusing: str, expected: type[Exception]) -> None:
    account = register_account(oauth, "antigravity-1", project_id="p-1")
    client = AntigravityClient(upstream_settings(oauth, refusing))
    try:
        with pytest.raises(expected):
            await client.generate(account, "gemini-2.5-flash", hello())
        with pytest.raises(expected):
            await _collect(client, account, "gemini-2.5-flash")
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    "refusing",
    [["Claude Sonnet 4.5 is no ", "longer available. ", "Please switch to Claude Sonnet 4.6"]],
    indirect=True,
)
async def test_a_refusal_spread_over_stream_events_never_reaches_the_caller(
    oauth: Emulator, refusing: str
) -> None:
    account = register_account(oauth, "antigravity-1", project_id="p-1")
    client = AntigravityClient(upstream_settings(oauth, refusing))
    delivered: list[list[dict[str, Any]]] = []
    try:
        with pytest.raises(ModelRetired):
            async for batch in client.stream(account, "claude-sonnet-4-5", hello()):
                delivered.append(batch)
    finally:
        await client.aclose()
    assert delivered == []


@pytest.mark.parametrize(
    "refusing",
    [["Claude Sonnet 4.5 is no ", "longer available, so I answered with 4.6.", " Here it is.", " Done."]],
    indirect=True,
)
async def test_an_answer_that_starts_like_a_refusal_is_delivered_whole(
    oauth: Emulator, refusing: str
) -> None:
    account = register_account(oauth, "antigravity-1", project_id="p-1")
    client = AntigravityClient(upstream_settings(oauth, refusing))
    try:
        events = await _collect(client, account, "claude-sonnet-4-5")
        answer = await client.generate(account, "claude-sonnet-4-5", hello())
    finally:
        await client.aclose()
    text = "".join(e["candidates"][0]["content"]["parts"][0]["text"] for e in events)
    assert text.startswith("Claude Sonnet 4.5 is no longer available, so") and text.endswith(" Done.")
    assert answer["candidates"][0]["content"]["parts"][0]["text"] == text


SYSTEM = "You are a coding agent.\nRFC 2119: MUST, REQUIRED, SHOULD, RECOMMENDED, MAY, OPTIONAL.\nBe brief."


def _system_text(call: dict[str, Any]) -> str:
    return str(call["body"]["request"]["systemInstruction"]["parts"][0]["text"])


async def test_a_bare_429_on_a_system_prompt_is_retried_once_cloaked_on_the_same_host(
    oauth: Emulator, cloudcode: Emulator, cloudcode_2: Emulator
) -> None:
    account = register_account(oauth, "antigravity-1", project_id=derive_project_id("antigravity-1"))
    cloudcode.fault("bare_429")
    client = AntigravityClient(upstream_settings(oauth, cloudcode, cloudcode_2))
    try:
        await client.generate(account, "gemini-2.5-flash", hello(SYSTEM))
    finally:
        await client.aclose()
    first, retry = cloudcode.requests(GENERATE)
    assert cloudcode_2.requests(GENERATE) == [], "the filter is not a host's condition"
    assert _system_text(first) == SYSTEM
    cloaked = _system_text(retry)
    assert cloaked.replace(ZWSP, "") == SYSTEM
    assert f"M{ZWSP}UST" in cloaked and f"R{ZWSP}FC 2119" in cloaked and "Be brief." in cloaked
    assert retry["body"]["request"]["contents"] == first["body"]["request"]["contents"]


async def test_a_second_bare_429_on_a_system_prompt_is_a_prompt_refusal(
    oauth: Emulator, cloudcode: Emulator, cloudcode_2: Emulator
) -> None:
    account = register_account(oauth, "antigravity-1", project_id=derive_project_id("antigravity-1"))
    cloudcode.fault("bare_429", times=2)
    client = AntigravityClient(upstream_settings(oauth, cloudcode, cloudcode_2))
    try:
        with pytest.raises(PromptRefused) as caught:
            async for _ in client.stream(account, "gemini-2.5-flash", hello(SYSTEM)):
                pass
    finally:
        await client.aclose()
    assert caught.value.status == 400 and "quota" in caught.value.message
    assert len(cloudcode.requests(STREAM)) == 2 and cloudcode_2.requests(STREAM) == []


async def test_a_bare_429_without_a_system_prompt_still_moves_to_the_next_host(
    oauth: Emulator, cloudcode: Emulator, cloudcode_2: Emulator
) -> None:
    account = register_account(oauth, "antigravity-1", project_id=derive_project_id("antigravity-1"))
    cloudcode.fault("bare_429")
    client = AntigravityClient(upstream_settings(oauth, cloudcode, cloudcode_2))
    try:
        await client.generate(account, "gemini-2.5-flash", hello())
    finally:
        await client.aclose()
    assert len(cloudcode.requests(GENERATE)) == 1 and len(cloudcode_2.requests(GENERATE)) == 1


async def test_a_foreign_project_is_rediscovered_once_and_the_call_retried(
    oauth: Emulator, cloudcode: Emulator
) -> None:
    account = register_account(oauth, "antigravity-1", project_id="rising-fact-p41fc")
    client = AntigravityClient(upstream_settings(oauth, cloudcode))
    try:
        answer = await client.generate(account, "gemini-2.5-flash", hello())
    finally:
        await client.aclose()
    assert answer["candidates"]
    assert account.project_id == derive_project_id("antigravity-1")
    assert len(cloudcode.requests("/v1internal:loadCodeAssist")) == 1


async def test_a_project_refused_again_after_rediscovery_is_the_pools_to_act_on(
    oauth: Emulator, cloudcode: Emulator
) -> None:
    account = register_account(oauth, "antigravity-1", project_id=derive_project_id("antigravity-1"))
    cloudcode.fault(
        "forbidden", reason="SERVICE_DISABLED", times=2, message="Cloud Code Private API has not been used"
    )
    client = AntigravityClient(upstream_settings(oauth, cloudcode))
    try:
        with pytest.raises(AccountForbidden) as caught:
            await client.generate(account, "gemini-2.5-flash", hello())
    finally:
        await client.aclose()
    assert caught.value.reason == "SERVICE_DISABLED"
    assert len(cloudcode.requests(GENERATE)) == 2
    assert len(cloudcode.requests("/v1internal:loadCodeAssist")) == 1


async def test_an_accounts_own_user_agent_is_sent(oauth: Emulator, cloudcode: Emulator) -> None:
    own = "antigravity/cli/1.1.22 darwin/arm64"
    account = register_account(
        oauth, "antigravity-1", project_id=derive_project_id("antigravity-1"), user_agent=own
    )
    other = register_account(
        oauth, "antigravity-2", account_id=2, project_id=derive_project_id("antigravity-2")
    )
    settings = upstream_settings(oauth, cloudcode)
    client = AntigravityClient(settings)
    try:
        await client.generate(account, "gemini-2.5-flash", hello())
        await client.generate(other, "gemini-2.5-flash", hello())
    finally:
        await client.aclose()
    first, second = cloudcode.requests(GENERATE)
    assert first["headers"]["user-agent"] == own
    assert (
        second["headers"]["user-agent"]
        == settings.antigravity_user_agent
        == "antigravity/hub/2.11.0 darwin/arm64"
    )
