"""AntigravityClient against the OAuth and Cloud Code emulators over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from switchyard.emulators.cloudcode_catalogue import derive_project_id
from switchyard.errors import (
    AccountDead,
    AccountForbidden,
    AccountNeedsVerification,
    StreamInterrupted,
    UpstreamBadRequest,
    UpstreamCapacity,
    UpstreamNotFound,
    UpstreamQuotaExhausted,
    UpstreamTransient,
    UpstreamUnauthenticated,
)
from switchyard.providers.antigravity import AntigravityClient, Catalogue
from switchyard.providers.antigravity.protocol import stable_session_id
from tests.servers import free_port

from .conftest import Emulator, register_account, upstream_settings

pytestmark = pytest.mark.anyio

GENERATE = "/v1internal:generateContent"
STREAM = "/v1internal:streamGenerateContent"
UA = "antigravity/hub/2.11.0 darwin/arm64"


def hello(text: str = "What model are you?") -> dict[str, Any]:
    return {
        "contents": [{"role": "user", "parts": [{"text": text}]}],
        "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "OFF"}],
    }


def answer_text(response: dict[str, Any]) -> str:
    parts = response["candidates"][0]["content"]["parts"]
    return "".join(part.get("text", "") for part in parts if not part.get("thought"))


async def test_generate_sends_the_envelope_and_unwraps_the_answer(
    oauth: Emulator, cloudcode: Emulator
) -> None:
    account = register_account(oauth, "antigravity-1")
    client = AntigravityClient(upstream_settings(oauth, cloudcode))
    try:
        response = await client.generate(account, "gemini-2.5-flash-thinking", hello())
        token = await client.access_token(account)
    finally:
        await client.aclose()
    assert "What model are you?" in answer_text(response)
    assert response["candidates"][0]["finishReason"] == "STOP"
    assert account.project_id == derive_project_id("antigravity-1"), "discovered on first use"
    [call] = cloudcode.requests(GENERATE)
    assert call["account"] == "antigravity-1"
    body = call["body"]
    assert body["project"] == account.project_id
    assert body["model"] == "gemini-3.1-flash-lite", "the contract's name, forwarded to today's model"
    assert body["userAgent"] == "antigravity"
    assert body["requestType"] == "agent"
    assert body["requestId"].startswith("agent-")
    assert body["request"]["sessionId"] == stable_session_id(hello())
    assert "safetySettings" not in body["request"]
    assert body["request"]["generationConfig"]["thinkingConfig"] == {
        "includeThoughts": True,
        "thinkingBudget": 1024,
    }
    headers = call["headers"]
    assert headers["user-agent"] == UA
    assert headers["authorization"] == "Bearer …" + token[-4:]
    assert headers["accept"] == "application/json"
    assert headers["content-type"] == "application/json"


async def test_image_models_use_the_image_request_type(oauth: Emulator, cloudcode: Emulator) -> None:
    account = register_account(oauth, "antigravity-1")
    client = AntigravityClient(upstream_settings(oauth, cloudcode))
    request = {
        "contents": [{"role": "user", "parts": [{"text": "Draw a kitten"}]}],
        "generationConfig": {"responseModalities": ["TEXT", "IMAGE"], "imageConfig": {"aspectRatio": "1:1"}},
    }
    try:
        response = await client.generate(account, "gemini-3-pro-image", request)
    finally:
        await client.aclose()
    parts = response["candidates"][0]["content"]["parts"]
    assert any("inlineData" in part for part in parts)
    [call] = cloudcode.requests(GENERATE)
    assert call["body"]["requestType"] == "image_gen"
    assert call["body"]["model"] == "gemini-3.1-flash-image"
    assert call["body"]["request"]["generationConfig"]["candidateCount"] == 1


async def test_stream_delivers_event_by_event(oauth: Emulator, cloudcode: Emulator) -> None:
    account = register_account(oauth, "antigravity-1")
    cloudcode.control("POST", "settings", {"event_delay_ms": 250})
    client = AntigravityClient(upstream_settings(oauth, cloudcode))
    arrivals: list[float] = []
    events: list[dict[str, Any]] = []
    batches: list[int] = []
    try:
        async for batch in client.stream(account, "gemini-2.5-flash", hello()):
            assert batch, "batches are never empty"
            arrivals.append(time.monotonic())
            events.extend(batch)
            batches.append(len(batch))
    finally:
        await client.aclose()
    # The first batch holds the events that could still have been a refusal sentence ("Echo (gemini-2."
    # could start "<model name> is no longer available"); after it, one event per batch.
    assert len(events) >= 3 and batches[0] <= 2 and set(batches[1:]) == {1}, batches
    assert all(
        ("traceId" not in event and "candidates" in event) or "usageMetadata" in event for event in events
    )
    assert arrivals[1] - arrivals[0] >= 0.2, "events must reach the caller as they arrive, not at the end"
    assert any(c.get("finishReason") == "STOP" for e in events for c in e.get("candidates", []))
    text = "".join(answer_text(e) for e in events if e.get("candidates"))
    assert "What model are you?" in text
    [call] = cloudcode.requests(STREAM)
    assert call["query"] == {"alt": "sse"}
    assert call["headers"]["accept"] == "text/event-stream"


async def test_closing_a_stream_early_does_not_wait_for_the_rest(
    oauth: Emulator, cloudcode: Emulator
) -> None:
    account = register_account(oauth, "antigravity-1")
    cloudcode.control("POST", "settings", {"event_delay_ms": 3000})
    client = AntigravityClient(upstream_settings(oauth, cloudcode))
    try:
        stream = client.stream(account, "gemini-2.5-flash", hello())
        first = (await stream.__anext__())[0]
        started = time.monotonic()
        await stream.aclose()  # type: ignore[attr-defined]
        assert time.monotonic() - started < 1.0
        assert first["candidates"]
    finally:
        await client.aclose()


async def test_a_stream_cut_mid_way_is_interrupted(oauth: Emulator, cloudcode: Emulator) -> None:
    account = register_account(oauth, "antigravity-1")
    cloudcode.fault("drop_after_events", events=2)  # the first event alone is held back (refusals)
    client = AntigravityClient(upstream_settings(oauth, cloudcode))
    received = []
    try:
        with pytest.raises(StreamInterrupted):
            async for batch in client.stream(account, "gemini-2.5-flash", hello()):
                received.extend(batch)
    finally:
        await client.aclose()
    assert len(received) == 2


async def test_a_stream_without_finish_reason_is_interrupted(oauth: Emulator, cloudcode: Emulator) -> None:
    account = register_account(oauth, "antigravity-1")
    cloudcode.fault("no_finish")
    client = AntigravityClient(upstream_settings(oauth, cloudcode))
    try:
        with pytest.raises(StreamInterrupted, match="without a finish reason"):
            async for _ in client.stream(account, "gemini-2.5-flash", hello()):
                pass
    finally:
        await client.aclose()


async def test_an_empty_stream_fails_before_any_event(oauth: Emulator, cloudcode: Emulator) -> None:
    account = register_account(oauth, "antigravity-1")
    cloudcode.fault("empty_stream")
    client = AntigravityClient(upstream_settings(oauth, cloudcode))
    try:
        with pytest.raises(UpstreamTransient) as caught:
            async for _ in client.stream(account, "gemini-2.5-flash", hello()):
                pass
    finally:
        await client.aclose()
    assert not isinstance(caught.value, StreamInterrupted)


async def test_stream_errors_before_the_first_event_are_classified(
    oauth: Emulator, cloudcode: Emulator
) -> None:
    account = register_account(oauth, "antigravity-1")
    cloudcode.fault("quota_exhausted", reset_delay_s=3723)
    client = AntigravityClient(upstream_settings(oauth, cloudcode))
    try:
        with pytest.raises(UpstreamQuotaExhausted) as caught:
            async for _ in client.stream(account, "claude-sonnet-4-5", hello()):
                pass
    finally:
        await client.aclose()
    assert caught.value.reset_at == pytest.approx(time.time() + 3723, abs=5)


async def test_capacity_on_the_first_host_falls_back_to_the_second(
    oauth: Emulator, cloudcode: Emulator, cloudcode_2: Emulator
) -> None:
    account = register_account(oauth, "antigravity-1")
    cloudcode.fault("capacity", retry_delay_s=39)
    client = AntigravityClient(upstream_settings(oauth, cloudcode, cloudcode_2))
    try:
        first = await client.generate(account, "gemini-3-pro-high", hello())
        second = await client.generate(account, "gemini-3-pro-high", hello())
    finally:
        await client.aclose()
    assert answer_text(first) and answer_text(second)
    assert len(cloudcode.requests(GENERATE)) == 2, "every call starts again at the first host"
    assert len(cloudcode_2.requests(GENERATE)) == 1


async def test_capacity_everywhere_raises_capacity(
    oauth: Emulator, cloudcode: Emulator, cloudcode_2: Emulator
) -> None:
    account = register_account(oauth, "antigravity-1")
    cloudcode.fault("capacity")
    cloudcode_2.fault("capacity")
    client = AntigravityClient(upstream_settings(oauth, cloudcode, cloudcode_2))
    try:
        with pytest.raises(UpstreamCapacity):
            await client.generate(account, "gemini-3-pro-high", hello())
    finally:
        await client.aclose()


async def test_rate_limit_moves_to_the_next_host_but_spent_quota_does_not(
    oauth: Emulator, cloudcode: Emulator, cloudcode_2: Emulator
) -> None:
    account = register_account(oauth, "antigravity-1")
    cloudcode.fault("rate_limited", retry_delay_s=0.5)
    client = AntigravityClient(upstream_settings(oauth, cloudcode, cloudcode_2))
    try:
        await client.generate(account, "gemini-2.5-flash", hello())
        assert len(cloudcode_2.requests(GENERATE)) == 1
        cloudcode.fault("quota_exhausted")
        with pytest.raises(UpstreamQuotaExhausted):
            await client.generate(account, "gemini-2.5-flash", hello())
    finally:
        await client.aclose()
    assert len(cloudcode_2.requests(GENERATE)) == 1, "a spent quota is the account's, not the host's"


async def test_an_unreachable_host_falls_back(oauth: Emulator, cloudcode: Emulator) -> None:
    account = register_account(oauth, "antigravity-1")
    dead_host = f"http://127.0.0.1:{free_port()}"
    client = AntigravityClient(upstream_settings(oauth, dead_host, cloudcode))
    try:
        response = await client.generate(account, "gemini-2.5-flash", hello())
    finally:
        await client.aclose()
    assert answer_text(response)


async def test_a_401_refreshes_the_token_once_and_retries(oauth: Emulator, cloudcode: Emulator) -> None:
    account = register_account(oauth, "antigravity-1")
    cloudcode.fault("unauthenticated")
    client = AntigravityClient(upstream_settings(oauth, cloudcode))
    try:
        response = await client.generate(account, "gemini-2.5-flash", hello())
    finally:
        await client.aclose()
    assert answer_text(response)
    assert len(oauth.requests("/token")) == 2
    first, second = cloudcode.requests(GENERATE)
    assert first["headers"]["authorization"] != second["headers"]["authorization"]


async def test_a_second_401_is_unauthenticated(oauth: Emulator, cloudcode: Emulator) -> None:
    account = register_account(oauth, "antigravity-1")
    cloudcode.fault("unauthenticated", times=2)
    client = AntigravityClient(upstream_settings(oauth, cloudcode))
    try:
        with pytest.raises(UpstreamUnauthenticated):
            await client.generate(account, "gemini-2.5-flash", hello())
    finally:
        await client.aclose()
    assert len(cloudcode.requests(GENERATE)) == 2


async def test_twenty_concurrent_calls_share_one_refresh_and_one_discovery(
    oauth: Emulator, cloudcode: Emulator
) -> None:
    account = register_account(oauth, "antigravity-1")
    oauth.fault("delay_ms", delay_ms=200)
    client = AntigravityClient(upstream_settings(oauth, cloudcode))
    try:
        answers = await asyncio.gather(
            *(client.generate(account, "gemini-2.5-flash", hello(f"question {i}")) for i in range(20))
        )
    finally:
        await client.aclose()
    assert all(answer_text(answer) for answer in answers)
    assert len(oauth.requests("/token")) == 1
    assert len(cloudcode.requests("/v1internal:loadCodeAssist")) == 1
    assert len(cloudcode.requests(GENERATE)) == 20


async def test_an_expiring_token_is_refreshed_between_calls(oauth: Emulator, cloudcode: Emulator) -> None:
    oauth.control("POST", "settings", {"token_lifetime_s": 2})
    account = register_account(oauth, "antigravity-1", project_id=derive_project_id("antigravity-1"))
    client = AntigravityClient(upstream_settings(oauth, cloudcode))
    try:
        await client.generate(account, "gemini-2.5-flash", hello())
        await asyncio.sleep(1.2)
        await client.generate(account, "gemini-2.5-flash", hello())
    finally:
        await client.aclose()
    first, second = cloudcode.requests(GENERATE)
    assert first["headers"]["authorization"] != second["headers"]["authorization"]
    assert len(oauth.requests("/token")) == 2


async def test_invalid_grant_makes_the_account_dead(oauth: Emulator, cloudcode: Emulator) -> None:
    account = register_account(oauth, "antigravity-1", project_id="p")
    oauth.fault("invalid_grant")
    client = AntigravityClient(upstream_settings(oauth, cloudcode))
    try:
        with pytest.raises(AccountDead, match="re-login needed"):
            await client.generate(account, "gemini-2.5-flash", hello())
    finally:
        await client.aclose()
    assert cloudcode.requests(GENERATE) == []


async def test_models_list_and_count_tokens(oauth: Emulator, cloudcode: Emulator) -> None:
    account = register_account(oauth, "antigravity-1", project_id=derive_project_id("antigravity-1"))
    client = AntigravityClient(upstream_settings(oauth, cloudcode))
    try:
        assert not client.catalogue.reported()
        reply = await client.fetch_available_models(account)
        counted = await client.count_tokens(account, "gemini-2.5-flash", hello("x" * 40))
        ids = client.catalogue.current_ids()
    finally:
        await client.aclose()
    assert client.catalogue.serving("claude-opus-4-6-thinking") == [account.id]
    assert "claude-opus-4-6-thinking" in ids and "gemini-3-flash" in ids
    assert set(ids) <= set(reply["models"])
    assert not any(name.startswith(("chat_", "tab_")) for name in ids)
    assert counted["totalTokens"] >= 10
    [count_call] = cloudcode.requests("/v1internal:countTokens")
    assert set(count_call["body"]) == {"request"}
    assert "safetySettings" not in count_call["body"]["request"]
    [models_call] = cloudcode.requests("/v1internal:fetchAvailableModels")
    assert models_call["body"] == {"project": account.project_id}


async def test_upstream_refusals_are_classified(oauth: Emulator, cloudcode: Emulator) -> None:
    account = register_account(oauth, "antigravity-1", project_id=derive_project_id("antigravity-1"))
    client = AntigravityClient(upstream_settings(oauth, cloudcode))
    try:
        with pytest.raises(UpstreamBadRequest, match="contents"):
            await client.generate(account, "gemini-2.5-flash", {"contents": []})
        with pytest.raises(UpstreamNotFound):
            await client.generate(account, "no-such-model", hello())
        cloudcode.fault(
            "forbidden", reason="VALIDATION_REQUIRED", validation_url="https://accounts.google.com/verify?x=1"
        )
        with pytest.raises(AccountNeedsVerification) as caught:
            await client.generate(account, "gemini-3-pro-image", hello())
        assert caught.value.url == "https://accounts.google.com/verify?x=1"
        cloudcode.fault(
            "forbidden", reason="VALIDATION_REQUIRED", validation_url="https://example.com/verify"
        )
        with pytest.raises(AccountNeedsVerification) as caught:
            await client.generate(account, "gemini-3-pro-image", hello())
        assert caught.value.url is None and "example.com" not in caught.value.message
        cloudcode.fault("forbidden", reason="CONSUMER_INVALID", times=2)
        with pytest.raises(AccountForbidden) as consumer:
            await client.generate(account, "gemini-2.5-flash", hello())
        assert consumer.value.reason == "CONSUMER_INVALID"
    finally:
        await client.aclose()


@pytest.mark.parametrize("model", [spec.public_id for spec in Catalogue.from_files().listing()])
async def test_every_public_model_answers(oauth: Emulator, cloudcode: Emulator, model: str) -> None:
    account = register_account(oauth, "antigravity-1", project_id=derive_project_id("antigravity-1"))
    client = AntigravityClient(upstream_settings(oauth, cloudcode))
    try:
        response = await client.generate(account, model, hello())
    finally:
        await client.aclose()
    assert response["candidates"][0]["content"]["parts"]
    [call] = cloudcode.requests(GENERATE)
    assert response["modelVersion"] == call["body"]["model"]
