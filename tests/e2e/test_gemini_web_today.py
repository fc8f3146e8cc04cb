"""Gemini web as it is today (issue 15, protocols/gemini-web.md §13), with the `openai` SDK through the
gateway on the emulator: models resolved against each account's own picker, silent downgrades said,
conversations longer than the request cap, error 1155, scripted tool loops, honest images."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from switchyard.providers.gemini_web.models import configure_routes, listed_models
from tests.web_stack import WebStack, web_stack

CAP = 20_000
FLASH, FLASH_LITE, PRO = "fbb127bbb056c959", "cf41b0e0dd7d53e5", "9d8ca3786ebdfbea"
EXPECTED = {  # contract base -> (picker hex asked, display name that answers, extended thinking)
    "gemini-2.5-flash-free": (FLASH, "3.6 Flash", False),
    "gemini-2.5-flash": (FLASH, "3.6 Flash", True),
    "gemini-2.5-pro": (PRO, "3.1 Pro", True),
    "gemini-3-pro": (PRO, "3.1 Pro", True),
}
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebStack]:
    with web_stack(
        tmp_path_factory.mktemp("web-today"),
        gemini_web_media_delivery="data",
        gemini_web_request_cap_bytes=CAP,
        gemini_web_picker_recheck_s=0.0,  # the tests change pickers between requests,
    ) as running:
        yield running


@pytest.fixture(autouse=True)
def clean(stack: WebStack) -> Iterator[None]:
    stack.reset()
    for name in stack.account_names:
        stack.control.post(
            f"/_control/accounts/{name}/picker", json={"offer": ["Flash-Lite", "Flash", "Pro"], "gated": []}
        )
    yield


def _ask(stack: WebStack, model: str, text: str = "hello", **extra: Any) -> Any:
    return stack.client().chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": text}], **extra
    )


def _script(stack: WebStack, *texts: str, **match: str) -> None:
    stack.control.post(
        "/_control/script", json={"match": match, "replies": [{"text": t} for t in texts]}
    ).raise_for_status()


@pytest.mark.parametrize("model", sorted(EXPECTED))
def test_each_contract_model_is_served_by_the_accounts_picker_entry(stack: WebStack, model: str) -> None:
    raw = _ask(stack, model, f"which model for {model}")
    hex_id, display, extended = EXPECTED[model]
    assert raw.headers["x-switchyard-web-model"] == display
    answer = raw.parse().choices[0].message.content or ""
    assert answer.startswith(f"Echo: which model for {model}") and display in answer
    sent = stack.generate_requests()[-1]
    assert (sent["model"], sent["extended_thinking"]) == (hex_id, extended)


# -deepsearch and -video (long-running tools), and the refused -canvas/-storybook, are in
# test_demo_gemini_web.py and test_gemini_web_suffixes.py.
QUICK_MODELS = [m for m in listed_models() if not m.endswith(("canvas", "storybook", "deepsearch", "video"))]


@pytest.mark.parametrize("model", QUICK_MODELS)
def test_every_listed_model_and_suffix_answers(stack: WebStack, model: str) -> None:
    answer = stack.client().chat.completions.create(
        model=model, messages=[{"role": "user", "content": "a red bicycle"}]
    )
    assert answer.model == model and answer.choices[0].message.content


def test_an_account_whose_picker_lacks_the_model_is_not_chosen(stack: WebStack) -> None:
    stack.control.post("/_control/accounts/gemini-web-1/picker", json={"offer": ["Flash-Lite", "Flash"]})
    for index in range(4):
        assert _ask(stack, "gemini-3-pro", f"pro question {index}").parse().choices[0].message.content
    pro_turns = [r for r in stack.generate_requests() if r["model"] == PRO]
    assert len(pro_turns) == 4 and {r["account"] for r in pro_turns} == {"gemini-web-2"}


def test_no_account_offering_the_model_is_a_clear_error(stack: WebStack) -> None:
    for name in stack.account_names:
        stack.control.post(f"/_control/accounts/{name}/picker", json={"offer": ["Flash-Lite", "Flash"]})
    for attempt in range(2):  # the first may meet a picker read before the change (1052, re-read)
        with pytest.raises(openai.NotFoundError) as raised:
            _ask(stack, "gemini-3-pro", f"pro question on flash-only accounts {attempt}")
        assert "does not offer Pro" in str(raised.value) and raised.value.code == "model_not_offered"
    assert not [r for r in stack.generate_requests() if r["model"] == PRO and r["prompt"].endswith("1")]


def test_a_silent_downgrade_is_said_in_a_header(stack: WebStack) -> None:
    for name in stack.account_names:
        stack.control.post(f"/_control/accounts/{name}/picker", json={"gated": ["Pro"]})
    raw = _ask(stack, "gemini-3-pro", "am I really on Pro?")
    assert raw.headers["x-switchyard-web-model"] == "3.5 Flash-Lite"
    assert raw.headers["x-switchyard-downgraded"] == "asked 3.1 Pro; served 3.5 Flash-Lite"
    with stack.client().chat.completions.with_streaming_response.create(
        model="gemini-3-pro", messages=[{"role": "user", "content": "stream on gated Pro"}], stream=True
    ) as streamed:
        assert streamed.headers["x-switchyard-downgraded"] == "asked 3.1 Pro; served 3.5 Flash-Lite"


def test_a_conversation_longer_than_the_cap_keeps_the_newest_message(stack: WebStack) -> None:
    messages: list[dict[str, str]] = [{"role": "system", "content": "Be brief."}]
    for index in range(12):
        messages.append({"role": "user", "content": f"old question {index} " + "x" * 2_000})
        messages.append({"role": "assistant", "content": f"old answer {index}"})
    messages.append({"role": "user", "content": "THE NEWEST QUESTION"})
    raw = stack.client().chat.completions.with_raw_response.create(model="gemini-3-pro", messages=messages)  # type: ignore[arg-type]
    answer = raw.parse().choices[0].message.content or ""
    assert "THE NEWEST QUESTION" in answer  # what the model saw ends with it
    trimmed = int(raw.headers["x-switchyard-history-trimmed"])
    sent = stack.generate_requests()[-1]
    assert 0 < trimmed < 24 and not sent["cut"] and sent["prompt_bytes"] <= CAP
    assert "old question 0 " not in sent["prompt"] and "old question 11 " in sent["prompt"]
    assert "Be brief." in sent["prompt"] and f"{trimmed} earlier messages" in sent["prompt"]


def test_a_newest_message_over_the_cap_is_a_clear_400(stack: WebStack) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        _ask(stack, "gemini-2.5-flash", "y" * (CAP + 10))
    assert raised.value.code == "context_length_exceeded" and "newest message" in str(raised.value)
    assert not stack.generate_requests()


def test_an_empty_200_error_1155_is_retried_once(stack: WebStack) -> None:
    stack.fault("empty_answer", times=1)
    raw = _ask(stack, "gemini-2.5-flash-free", "after an empty answer")
    assert (raw.parse().choices[0].message.content or "").startswith("Echo: after an empty answer")
    sent = stack.generate_requests()
    assert len(sent) == 2 and sent[0]["account"] == sent[1]["account"]


CALL = '```tool_call\n{"name": "get_weather", "arguments": {"city": "%s"}}\n```'


def _tool_loop(stack: WebStack, stream: bool, calls: list[str]) -> tuple[list[Any], str]:
    client = stack.client()
    _script(stack, "\n".join(CALL % city for city in calls), "It is sunny everywhere.")
    messages: list[Any] = [{"role": "user", "content": "Weather in " + " and ".join(calls) + "?"}]
    if stream:
        chunks = list(
            client.chat.completions.create(
                model="gemini-3-pro", messages=messages, tools=[WEATHER_TOOL], stream=True
            )
        )  # type: ignore[list-item]
        deltas = [tc for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
        finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
        assert finish == ["tool_calls"]
        tool_calls = [
            {
                "id": d.id,
                "type": "function",
                "function": {"name": d.function.name, "arguments": d.function.arguments},
            }
            for d in deltas
            if d.id and d.function
        ]
    else:
        first = client.chat.completions.create(model="gemini-3-pro", messages=messages, tools=[WEATHER_TOOL])  # type: ignore[list-item]
        assert first.choices[0].finish_reason == "tool_calls"
        tool_calls = [c.model_dump() for c in first.choices[0].message.tool_calls or []]
    assert [json.loads(c["function"]["arguments"]) for c in tool_calls] == [{"city": c} for c in calls]
    messages.append({"role": "assistant", "content": None, "tool_calls": tool_calls})
    for call, city in zip(tool_calls, calls, strict=True):
        messages.append({"role": "tool", "tool_call_id": call["id"], "content": f"sunny in {city}"})
    if stream:
        chunks = list(
            client.chat.completions.create(
                model="gemini-3-pro", messages=messages, tools=[WEATHER_TOOL], stream=True
            )
        )  # type: ignore[list-item]
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    else:
        second = client.chat.completions.create(model="gemini-3-pro", messages=messages, tools=[WEATHER_TOOL])  # type: ignore[list-item]
        assert second.choices[0].finish_reason == "stop"
        text = second.choices[0].message.content or ""
    return tool_calls, text


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("calls", [["Paris"], ["Paris", "Oslo"]], ids=["one", "parallel"])
def test_a_scripted_two_turn_tool_loop(stack: WebStack, stream: bool, calls: list[str]) -> None:
    tool_calls, text = _tool_loop(stack, stream, calls)
    assert text == "It is sunny everywhere." and len({c["id"] for c in tool_calls}) == len(calls)
    second_prompt = stack.generate_requests()[-1]["prompt"]
    assert all(f"sunny in {city}" in second_prompt for city in calls)  # the results went back
    assert "```tool_result" in second_prompt


@pytest.mark.parametrize("stream", [False, True])
def test_a_malformed_call_block_is_a_clear_error(stack: WebStack, stream: bool) -> None:
    _script(stack, "```tool_call\n{not json at all\n```", "```tool_call\n{not json at all\n```")
    client = stack.client()
    messages: Any = [{"role": "user", "content": "weather?"}]
    if not stream:
        with pytest.raises(openai.APIStatusError) as raised:
            client.chat.completions.create(model="gemini-3-pro", messages=messages, tools=[WEATHER_TOOL])  # type: ignore[list-item]
        assert "malformed" in str(raised.value)
        return
    with pytest.raises(openai.APIError) as streamed:
        list(
            client.chat.completions.create(
                model="gemini-3-pro", messages=messages, tools=[WEATHER_TOOL], stream=True
            )
        )  # type: ignore[list-item]
    assert "malformed" in str(streamed.value)


def test_images_revised_prompt_is_what_the_model_said_never_our_wrapper(stack: WebStack) -> None:
    result = stack.client().images.generate(model="gemini-3-pro-imagen", prompt="a red kite", size="1600x900")
    revised = (result.data or [])[0].revised_prompt or ""
    assert "a red kite" in revised  # the emulator's answer text mentions the prompt it saw
    assert (
        "Generate an image" not in revised
        and "Aspect ratio" not in revised
        and "googleusercontent" not in revised
    )
    sent = stack.generate_requests()[-1]["prompt"]
    assert sent.startswith("Generate an image") and "Aspect ratio 16:9, 1600x900 pixels" in sent


@pytest.mark.parametrize("stream", [False, True])
def test_chat_image_answers_keep_text_and_image_markdown_apart(stack: WebStack, stream: bool) -> None:
    messages: Any = [{"role": "user", "content": "a red kite"}]
    client = stack.client()
    if stream:
        chunks = client.chat.completions.create(
            model="gemini-2.5-flash-imagen", messages=messages, stream=True
        )
        content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    else:
        content = (
            client.chat.completions.create(model="gemini-2.5-flash-imagen", messages=messages)
            .choices[0]
            .message.content
            or ""
        )
    text, image = content.split("![image](", 1)
    assert "a red kite" in text and "googleusercontent.com" not in content
    assert text.endswith("\n\n") and image.startswith("data:image/") and image.rstrip().endswith(")")


def test_the_gateway_records_each_accounts_picker_when_it_signs_in(stack: WebStack) -> None:
    _ask(stack, "gemini-2.5-flash", "sign in first")
    pickers = {name: stack.account(name).web_picker for name in stack.account_names}
    signed_in = [picker for picker in pickers.values() if picker]
    assert signed_in and [e["display_name"] for e in signed_in[0]] == [
        "3.6 Flash",
        "3.5 Flash-Lite",
        "3.1 Pro",
    ]


def test_an_operator_picker_file_decides_which_entry_serves(tmp_path: Path) -> None:
    mapping = tmp_path / "picker.json"
    mapping.write_text(
        '{"models": {"gemini-2.5-flash-free": {"picker": ["Flash-Lite"], "family": "lite", "files": false},'
        ' "gemini-2.5-flash": {"picker": ["Flash"], "extended_thinking": true},'
        ' "gemini-3-pro": {"picker": ["Pro"], "extended_thinking": true, "video": true}}}'
    )
    try:
        with web_stack(tmp_path, accounts_count=1, gemini_web_picker_file=mapping) as own:
            raw = _ask(own, "gemini-2.5-flash-free", "which entry?")
            assert raw.headers["x-switchyard-web-model"] == "3.5 Flash-Lite"
            assert own.generate_requests()[-1]["model"] == FLASH_LITE
    finally:
        configure_routes(None)  # the shipped mapping for the tests that follow in this process
