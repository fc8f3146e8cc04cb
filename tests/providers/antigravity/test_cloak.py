"""The system-prompt cloak for Cloud Code's content filter (§12.6): pure, on JSON in and out."""

from __future__ import annotations

from switchyard.config import Settings
from switchyard.providers.antigravity.cloak import cloak_envelope, cloak_text, has_system_instruction

WORDS = Settings().antigravity_sensitive_words
Z = "\u200b"


def test_the_default_list_holds_the_known_triggers() -> None:
    assert {
        "RFC 2119",
        "MUST",
        "REQUIRED",
        "SHOULD",
        "RECOMMENDED",
        "MAY",
        "OPTIONAL",
        "system-conventions",
    } <= set(WORDS)


def test_the_bisected_line_is_cloaked_word_by_word_longest_first() -> None:
    line = "RFC 2119: MUST, REQUIRED, SHOULD, RECOMMENDED, MAY, OPTIONAL."
    assert cloak_text(line, WORDS) == (
        f"R{Z}FC 2119: M{Z}UST, R{Z}EQUIRED, S{Z}HOULD, R{Z}ECOMMENDED, M{Z}AY, O{Z}PTIONAL."
    )
    assert cloak_text("<system-conventions>", WORDS) == f"<s{Z}ystem-conventions>"


def test_matching_ignores_case_but_keeps_it_and_leaves_longer_words_alone() -> None:
    assert cloak_text("You must. Mayor Shoulder", WORDS) == f"You m{Z}ust. Mayor Shoulder"


def test_only_the_system_instruction_changes_and_the_input_is_not_modified() -> None:
    envelope = {
        "model": "gemini-2.5-flash",
        "request": {
            "contents": [{"role": "user", "parts": [{"text": "you MUST answer"}]}],
            "systemInstruction": {
                "role": "user",
                "parts": [{"text": "You MUST be brief."}, {"inlineData": {}}],
            },
        },
    }
    assert has_system_instruction(envelope["request"])
    cloaked = cloak_envelope(envelope, WORDS)
    assert cloaked["request"]["systemInstruction"]["parts"][0]["text"] == f"You M{Z}UST be brief."
    assert cloaked["request"]["systemInstruction"]["parts"][1] == {"inlineData": {}}
    assert cloaked["request"]["contents"] is envelope["request"]["contents"]
    assert envelope["request"]["systemInstruction"]["parts"][0]["text"] == "You MUST be brief."


def test_an_empty_system_prompt_is_not_one() -> None:
    assert not has_system_instruction({"systemInstruction": {"parts": [{"text": "  "}]}})
    assert not has_system_instruction({"contents": []})


def test_the_word_list_is_a_comma_separated_setting() -> None:
    assert Settings(antigravity_sensitive_words="RFC 2119, secret phrase").antigravity_sensitive_words == [
        "RFC 2119",
        "secret phrase",
    ]
