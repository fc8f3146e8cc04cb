"""The request-cap fit (`prompt.fit`) and the picker mapping file (`models.load_routes`), as plain
functions: what is left out, in which order, and what a malformed operator file says."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchyard.errors import InvalidRequest
from switchyard.providers.gemini_web.models import load_routes
from switchyard.providers.gemini_web.prompt import fit, flatten


def _conversation(turns: int, size: int) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": "SYSTEM RULES"}]
    for index in range(turns):
        messages += [
            {"role": "user", "content": f"q{index} " + "x" * size},
            {"role": "assistant", "content": f"a{index}"},
        ]
    return [*messages, {"role": "user", "content": "NEWEST"}]


def test_under_the_cap_nothing_is_left_out() -> None:
    messages = _conversation(3, 100)
    flat = fit(messages, offer=None, media={}, cap_bytes=10_000)
    assert flat.trimmed == 0 and flat.text == flatten(messages, offer=None, media={}).text


def test_the_fewest_oldest_messages_go_and_system_and_newest_stay() -> None:
    messages = _conversation(10, 1_000)
    flat = fit(messages, offer=None, media={}, cap_bytes=5_000)
    assert len(flat.text.encode()) <= 5_000 and flat.trimmed > 0
    assert "SYSTEM RULES" in flat.text and flat.text.rstrip().endswith("<|im_start|>assistant")
    assert "NEWEST" in flat.text and "q0 " not in flat.text and "q9 " in flat.text
    assert f"{flat.trimmed} earlier messages" in flat.text
    # one message fewer left out would not fit: the search found the minimum
    fewer = [m for i, m in enumerate(messages) if i == 0 or i > flat.trimmed - 1]
    assert len(flatten(fewer, offer=None, media={}).text.encode()) > 5_000


def test_a_newest_message_over_the_cap_is_refused() -> None:
    with pytest.raises(InvalidRequest) as raised:
        fit([{"role": "user", "content": "y" * 600}], offer=None, media={}, cap_bytes=500)
    assert raised.value.openai_code == "context_length_exceeded" and raised.value.param == "messages[0]"


def test_an_operator_file_maps_models_and_a_bad_one_is_refused(tmp_path: Path) -> None:
    good = tmp_path / "picker.json"
    good.write_text(
        '{"models": {"gemini-2.5-flash-free": {"picker": ["Flash-Lite"]},'
        ' "gemini-2.5-flash": {"picker": ["Flash"], "extended_thinking": true},'
        ' "gemini-3-pro": {"picker": ["Pro", "Flash"], "video": true, "family": "pro"}}}'
    )
    routes = load_routes(good)
    assert routes["gemini-2.5-flash-free"].picker == ("Flash-Lite",)
    assert routes["gemini-3-pro"].picker == ("Pro", "Flash") and routes["gemini-3-pro"].family == "pro"
    bad = tmp_path / "bad.json"
    bad.write_text('{"models": {"gemini-2.5-flash": {"picker": []}}}')
    with pytest.raises(ValueError, match=r"gemini-2\.5-flash-free"):
        load_routes(bad)
