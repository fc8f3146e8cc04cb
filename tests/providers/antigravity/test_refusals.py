"""Refusal sentences the upstream sends as 200 answers (§12.3): whole-answer and incremental checks."""

from __future__ import annotations

from typing import Any

import pytest

from switchyard.providers.antigravity.refusals import (
    ClientOutdated,
    RefusalScreen,
    Retired,
    VersionGated,
    classify_refusal,
    could_be_refusal,
    refusal_in,
)

REFUSALS = [
    (
        "Claude Sonnet 4.5 is no longer available. Please switch to Claude Sonnet 4.6",
        Retired("Claude Sonnet 4.5", "Claude Sonnet 4.6"),
    ),
    (
        "Claude Sonnet 4.5 is no longer available. Please switch to Claude Sonnet 4.6 in the latest version of "
        "Antigravity.",
        Retired("Claude Sonnet 4.5", "Claude Sonnet 4.6"),
    ),
    (
        "gemini-3-pro-high is no longer available. Please switch to gemini-3.1-pro-high.",
        Retired("gemini-3-pro-high", "gemini-3.1-pro-high"),
    ),
    (
        "Gemini 3.1 Pro is not available on this version. Please upgrade to the latest version.",
        VersionGated("Gemini 3.1 Pro"),
    ),
    (
        "This version of Antigravity is no longer supported. Please update to receive the latest features!",
        ClientOutdated(
            "This version of Antigravity is no longer supported. Please update to receive the latest features!"
        ),
    ),
    (
        "This version of Antigravity is no longer supported. Please upgrade to receive the latest features.",
        ClientOutdated(
            "This version of Antigravity is no longer supported. Please upgrade to receive the latest features."
        ),
    ),
    (
        "Your current version of Antigravity is out of date. Please visit https://antigravity.google/download "
        "to download and install the latest version.",
        ClientOutdated(
            "Your current version of Antigravity is out of date. Please visit https://antigravity.google/download "
            "to download and install the latest version."
        ),
    ),
]

ANSWERS = [
    "Hello! How can I help you today?",
    "The error says: Claude Sonnet 4.5 is no longer available. Please switch to Claude Sonnet 4.6",
    "Claude Sonnet 4.5 is no longer available. Please switch to Claude Sonnet 4.6\n\nHere is why that happens.",
    "This version of Antigravity is no longer supported. Please update to receive the latest features! "
    "That is what users see when their IDE is too old; the fix is to update the IDE and sign in again.",
    "This is a great question about model versions.",
    "",
]


@pytest.mark.parametrize(("text", "expected"), REFUSALS)
def test_a_whole_refusal_sentence_is_classified(text: str, expected: object) -> None:
    assert classify_refusal(text) == expected
    assert classify_refusal(f"  {text}\n") == expected


@pytest.mark.parametrize("text", ANSWERS)
def test_an_answer_that_quotes_or_continues_the_sentence_is_an_answer(text: str) -> None:
    assert classify_refusal(text) is None


@pytest.mark.parametrize(("text", "expected"), REFUSALS)
def test_every_prefix_of_a_refusal_could_still_be_one(text: str, expected: object) -> None:
    for end in range(1, len(text) + 1):
        assert could_be_refusal(text[:end]), text[:end]


@pytest.mark.parametrize(
    "text",
    [
        "Hello! How",
        "Sure, here is",
        "This is a great",
        "I can help with that. Here is the",
        "The error says: Claude",
        "def main():\n",
        "x" * 500,
    ],
)
def test_ordinary_starts_are_released_at_once(text: str) -> None:
    assert not could_be_refusal(text)


def event(*parts: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": list(parts)}}
    if finish:
        candidate["finishReason"] = finish
    return {"candidates": [candidate]}


def test_the_screen_holds_a_refusal_until_the_end_and_then_names_it() -> None:
    screen = RefusalScreen()
    assert screen.feed(event({"text": "Claude Sonnet 4.5 is no longer"}))
    assert screen.feed(event({"text": " available. Please switch to Claude Sonnet 4.6"}, finish="STOP"))
    assert screen.verdict() == Retired("Claude Sonnet 4.5", "Claude Sonnet 4.6")


def test_the_screen_releases_thoughts_and_function_calls_at_once() -> None:
    assert not RefusalScreen().feed(event({"text": "Claude", "thought": True}))
    assert not RefusalScreen().feed(event({"functionCall": {"name": "f", "args": {}}}))


def test_the_screen_releases_an_ordinary_answer_at_its_first_telling_event() -> None:
    screen = RefusalScreen()
    assert screen.feed(event({"text": "Hello"}))
    assert not screen.feed(event({"text": "! How can I help?"}))


def test_a_non_stream_answer_with_a_function_call_is_never_a_refusal() -> None:
    text = "gemini-3-pro-high is no longer available. Please switch to gemini-3.1-pro-high."
    assert refusal_in(event({"text": text})) == Retired("gemini-3-pro-high", "gemini-3.1-pro-high")
    assert refusal_in(event({"text": text}, {"functionCall": {"name": "f", "args": {}}})) is None
