"""Thought signatures survive an OpenAI client round trip, never cross families, never get invented."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from switchyard.translate import (
    SKIP_SIGNATURE,
    OpenAIChatStream,
    SignatureCache,
    SignedThought,
    decode_signature_from_id,
    encode_signature_in_id,
    to_gemini_request,
)
from switchyard.translate.signatures import MAX_ID_LENGTH
from tests.translate.profiles import CLAUDE_THINKING, GEMINI_3_PRO, GEMINI_25_FLASH, IMAGE

SHORT_SIG = base64.b64encode(b"\xfb\xff" + b"signature bytes" * 5).decode()  # has '+' and '/'
LONG_SIG = base64.b64encode(b"x" * 2000).decode()


def gemini3_turn(signature: str) -> list[dict[str, Any]]:
    return [
        {
            "candidates": [
                {
                    "content": {
                        "role": "model",
                        "parts": [
                            {
                                "functionCall": {"name": "f", "args": {"a": 1}, "id": "fc_1"},
                                "thoughtSignature": signature,
                            },
                            {"functionCall": {"name": "f", "args": {"a": 2}, "id": "fc_2"}},
                        ],
                    },
                    "finishReason": "STOP",
                }
            ],
            "responseId": "r",
        }
    ]


def replay(answer: dict[str, Any], model: Any, cache: SignatureCache | None) -> list[dict[str, Any]]:
    """The client sends the assistant message back (ids only, as OpenAI clients do) with results."""
    message = answer["choices"][0]["message"]
    calls = [{k: v for k, v in call.items() if k != "index"} for call in message["tool_calls"]]
    messages = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": message["content"], "tool_calls": calls},
        *({"role": "tool", "tool_call_id": c["id"], "content": "ok"} for c in calls),
    ]
    out = to_gemini_request({"messages": messages}, model=model, signatures=cache)
    return out["contents"][1:]


def test_id_encoding_round_trip() -> None:
    encoded = encode_signature_in_id("fc_1", "gemini-3", SHORT_SIG)
    assert (
        encoded.startswith("fc_1__sig_g3_")
        and "+" not in encoded
        and "/" not in encoded
        and "=" not in encoded
    )
    assert decode_signature_from_id(encoded) == ("fc_1", SignedThought("gemini-3", SHORT_SIG))
    assert decode_signature_from_id("call_plain") == ("call_plain", None)


@pytest.mark.parametrize(
    ("family", "signature"),
    [("claude", SHORT_SIG), ("gemini-3", LONG_SIG), ("gemini-3", SKIP_SIGNATURE), ("gemini-3", "abc")],
)
def test_ids_do_not_carry_what_cannot_round_trip(family: Any, signature: str) -> None:
    assert encode_signature_in_id("id", family, signature) == "id"


def test_ids_made_before_issue_13_still_give_their_signature_back() -> None:
    """Ids no longer carry signatures (strict clients want short plain ids; the store keeps them),
    but a conversation begun with such an id still replays it."""
    answer = OpenAIChatStream.for_request({}, model=GEMINI_3_PRO).build_completion(gemini3_turn(SHORT_SIG))
    ids = [c["id"] for c in answer["choices"][0]["message"]["tool_calls"]]
    assert ids == ["fc_1", "fc_2"]
    answer["choices"][0]["message"]["tool_calls"][0]["id"] = encode_signature_in_id(
        "fc_1", "gemini-3", SHORT_SIG
    )
    model_turn, results = replay(answer, GEMINI_3_PRO, cache=None)
    assert model_turn["parts"][0] == {
        "functionCall": {"id": "fc_1", "name": "f", "args": {"a": 1}},
        "thoughtSignature": SHORT_SIG,
    }
    assert "thoughtSignature" not in model_turn["parts"][1]
    assert [p["functionResponse"]["id"] for p in results["parts"]] == ["fc_1", "fc_2"]


def test_long_gemini3_signature_lives_in_the_cache_only() -> None:
    cache = SignatureCache()
    answer = OpenAIChatStream.for_request({}, model=GEMINI_3_PRO, signatures=cache).build_completion(
        gemini3_turn(LONG_SIG)
    )
    calls = answer["choices"][0]["message"]["tool_calls"]
    assert [c["id"] for c in calls] == ["fc_1", "fc_2"] and all(len(c["id"]) <= MAX_ID_LENGTH for c in calls)
    model_turn, _ = replay(answer, GEMINI_3_PRO, cache)
    assert model_turn["parts"][0]["thoughtSignature"] == LONG_SIG
    # Forgotten (restart, other instance): the sentinel keeps Gemini 3 accepting the history.
    model_turn, _ = replay(answer, GEMINI_3_PRO, SignatureCache())
    assert model_turn["parts"][0]["thoughtSignature"] == SKIP_SIGNATURE


def test_signatures_never_cross_families() -> None:
    answer = OpenAIChatStream.for_request({}, model=GEMINI_3_PRO).build_completion(gemini3_turn(SHORT_SIG))
    model_turn, _ = replay(answer, CLAUDE_THINKING, cache=None)
    assert all("thoughtSignature" not in p and not p.get("thought") for p in model_turn["parts"])
    model_turn, _ = replay(answer, GEMINI_25_FLASH, cache=None)
    assert all("thoughtSignature" not in p for p in model_turn["parts"])
    assert model_turn["parts"][0]["functionCall"]["id"] == "fc_1"


def claude_turn() -> list[dict[str, Any]]:
    parts = [
        [{"text": "I need the ", "thought": True}],
        [{"text": "weather.", "thought": True}],
        [{"text": "", "thought": True, "thoughtSignature": "ClaudeSig=="}],
        [{"functionCall": {"name": "f", "args": {}, "id": "toolu_vrtx_1"}}],
    ]
    events: list[dict[str, Any]] = [
        {"candidates": [{"content": {"role": "model", "parts": p}}], "responseId": "msg_vrtx_1"}
        for p in parts
    ]
    events[-1]["candidates"][0]["finishReason"] = "OTHER"
    return events


@pytest.mark.parametrize("keep_reasoning", [True, False])
def test_claude_thinking_block_is_restored_from_the_cache(keep_reasoning: bool) -> None:
    cache = SignatureCache()
    answer = OpenAIChatStream.for_request({}, model=CLAUDE_THINKING, signatures=cache).build_completion(
        claude_turn()
    )
    message = answer["choices"][0]["message"]
    assert message["reasoning_content"] == "I need the weather."
    assert message["tool_calls"][0]["id"] == "toolu_vrtx_1"  # Claude signatures never ride in ids
    if not keep_reasoning:
        del message["reasoning_content"]
    messages = [
        {"role": "user", "content": "go"},
        {
            **message,
            "tool_calls": [{k: v for k, v in c.items() if k != "index"} for c in message["tool_calls"]],
        },
        {"role": "tool", "tool_call_id": "toolu_vrtx_1", "content": "sunny"},
    ]
    out = to_gemini_request({"messages": messages}, model=CLAUDE_THINKING, signatures=cache)
    assert out["contents"][1]["parts"][0] == {
        "text": "I need the weather.",
        "thought": True,
        "thoughtSignature": "ClaudeSig==",
    }


def test_claude_reasoning_with_unknown_signature_is_dropped() -> None:
    messages = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": "Answer", "reasoning_content": "edited thoughts"},
        {"role": "user", "content": "more"},
    ]
    out = to_gemini_request({"messages": messages}, model=CLAUDE_THINKING, signatures=SignatureCache())
    assert out["contents"][1] == {"role": "model", "parts": [{"text": "Answer"}]}


def test_gemini_reasoning_replays_with_its_recorded_signature() -> None:
    cache = SignatureCache()
    events = [
        {
            "candidates": [
                {
                    "content": {
                        "parts": [
                            {"text": "plan", "thought": True},
                            {"text": "Hi", "thoughtSignature": SHORT_SIG},
                        ]
                    },
                    "finishReason": "STOP",
                }
            ]
        }
    ]
    message = OpenAIChatStream.for_request({}, model=GEMINI_3_PRO, signatures=cache).build_completion(events)[
        "choices"
    ][0]["message"]
    out = to_gemini_request(
        {"messages": [{"role": "user", "content": "q"}, message, {"role": "user", "content": "q2"}]},
        model=GEMINI_3_PRO,
        signatures=cache,
    )
    assert out["contents"][1]["parts"] == [
        {"text": "plan", "thought": True, "thoughtSignature": SHORT_SIG},
        {"text": "Hi"},
    ]


def test_cache_is_bounded_by_entries_and_characters() -> None:
    cache = SignatureCache(max_entries=3, max_chars=100)
    for i in range(5):
        cache.remember_tool_call(f"c{i}", SignedThought("gemini-3", "s" * 10))
    assert len(cache) == 3
    assert cache.tool_call("c0", "gemini-3") is None and cache.tool_call("c4", "gemini-3") is not None
    cache.tool_call("c2", "gemini-3")  # touch: c3 is now the oldest
    cache.remember_thinking("t" * 50, SignedThought("claude", "s" * 30, "t" * 50))
    assert cache.tool_call("c3", "gemini-3") is None and cache.tool_call("c2", "gemini-3") is not None
    assert cache.thinking("t" * 50, "claude") is not None
    assert cache.thinking("t" * 50, "gemini-3") is None


@pytest.mark.parametrize(
    ("model", "use_cache", "expected_signature"),
    [(IMAGE, True, "ImgSig=="), (IMAGE, False, SKIP_SIGNATURE), (GEMINI_25_FLASH, False, None)],
)
def test_generated_images_replay_as_media_with_their_signature(
    model: Any, use_cache: bool, expected_signature: str | None
) -> None:
    cache = SignatureCache()
    data = base64.b64encode(b"\xff\xd8\xff\xe0" + b"\x00" * 64).decode()
    events = [
        {
            "candidates": [
                {
                    "content": {
                        "parts": [
                            {"text": "Here:"},
                            {
                                "inlineData": {"mimeType": "image/jpeg", "data": data},
                                "thoughtSignature": "ImgSig==",
                            },
                        ]
                    },
                    "finishReason": "STOP",
                }
            ]
        }
    ]
    message = OpenAIChatStream.for_request({}, model=IMAGE, signatures=cache).build_completion(events)[
        "choices"
    ][0]["message"]
    assert message["content"] == f"Here:![image](data:image/jpeg;base64,{data})"
    messages = [
        {"role": "user", "content": "Draw"},
        {"role": "assistant", "content": message["content"]},
        {"role": "user", "content": "Bluer"},
    ]
    out = to_gemini_request({"messages": messages}, model=model, signatures=cache if use_cache else None)
    inline: dict[str, Any] = {"inlineData": {"mimeType": "image/jpeg", "data": data}}
    if expected_signature:
        inline["thoughtSignature"] = expected_signature
    assert out["contents"][1] == {"role": "model", "parts": [{"text": "Here:"}, inline]}


def test_markdown_images_stay_text_for_claude() -> None:
    text = "see ![image](data:image/png;base64,iVBORw0KGgo=)"
    messages = [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": text},
        {"role": "user", "content": "b"},
    ]
    out = to_gemini_request({"messages": messages}, model=CLAUDE_THINKING)
    assert out["contents"][1]["parts"] == [{"text": text}]
