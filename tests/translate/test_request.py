"""OpenAI chat request → canonical Gemini request: JSON in, JSON out."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from switchyard.errors import InvalidRequest
from switchyard.translate import Media, media_urls, to_gemini_request, tool_name_map
from switchyard.translate.signatures import SKIP_SIGNATURE
from tests.translate.profiles import (
    CLAUDE,
    CLAUDE_THINKING,
    GEMINI_3_FLASH,
    GEMINI_3_LEVELS,
    GEMINI_3_PRO,
    GEMINI_25_FLASH,
    GEMINI_25_PRO,
    GEMINI_25_THINKING,
    GPT_OSS,
    IMAGE,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 40
MP4 = b"\x00\x00\x00\x18ftypisom" + b"\x00" * 40
PDF = b"%PDF-1.7\n" + b"\x00" * 40


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def translate(messages: list[dict[str, Any]], model: Any = GEMINI_25_FLASH, **body: Any) -> dict[str, Any]:
    return to_gemini_request({"model": model.id, "messages": messages, **body}, model=model)


# -- roles and turns -----------------------------------------------------------------------------


def test_plain_text_turns_and_system_instruction_object() -> None:
    out = translate(
        [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Use French."}]},
            user("Hi"),
            {"role": "assistant", "content": "Salut"},
            user("Again"),
        ]
    )
    assert out == {
        "contents": [
            {"role": "user", "parts": [{"text": "Hi"}]},
            {"role": "model", "parts": [{"text": "Salut"}]},
            {"role": "user", "parts": [{"text": "Again"}]},
        ],
        "systemInstruction": {"role": "user", "parts": [{"text": "Be brief."}, {"text": "Use French."}]},
    }


@pytest.mark.parametrize(
    ("model", "expected_first"),
    [
        (GEMINI_25_FLASH, {"role": "user", "parts": [{"text": ""}]}),
        (CLAUDE, {"role": "model", "parts": [{"text": "Hello"}]}),
    ],
)
def test_contents_starting_with_model_get_an_empty_user_turn_except_claude(
    model: Any, expected_first: Any
) -> None:
    out = translate([{"role": "assistant", "content": "Hello"}, user("Hi")], model=model)
    assert out["contents"][0] == expected_first


def test_lone_system_message_becomes_the_user_turn() -> None:
    out = translate([{"role": "system", "content": "Say hi"}])
    assert out == {"contents": [{"role": "user", "parts": [{"text": "Say hi"}]}]}


def test_consecutive_same_role_messages_merge() -> None:
    out = translate([user("a"), user([{"type": "text", "text": "b"}])])
    assert out["contents"] == [{"role": "user", "parts": [{"text": "a"}, {"text": "b"}]}]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": "hi"}, "messages"),
        ({"messages": []}, "messages"),
        ({"messages": [user("a"), "oops"]}, "messages[1]"),
        ({"messages": [user("a"), user("b"), {"role": "robot", "content": "x"}]}, "messages[2].role"),
        ({"messages": [{"role": "user"}]}, "messages[0].content"),
        ({"messages": [user(5)]}, "messages[0].content"),
        ({"messages": [user([{"type": "telepathy"}])]}, "messages[0].content[0].type"),
        ({"messages": [user([{"type": "text", "text": 3}])]}, "messages[0].content[0].text"),
        (
            {"messages": [{"role": "system", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]},
            "messages[0].content[0]",
        ),
        ({"messages": [user("a")], "temperature": "hot"}, "temperature"),
        ({"messages": [user("a")], "temperature": 3}, "temperature"),
        ({"messages": [user("a")], "top_p": True}, "top_p"),
        ({"messages": [user("a")], "max_tokens": 1.5}, "max_tokens"),
        ({"messages": [user("a")], "max_tokens": 0}, "max_tokens"),
        ({"messages": [user("a")], "n": 2}, "n"),
        ({"messages": [user("a")], "stop": 7}, "stop"),
        ({"messages": [user("a")], "stop": ["a", "b", "c", "d", "e", "f"]}, "stop"),
        ({"messages": [user("a")], "seed": "x"}, "seed"),
        ({"messages": [user("a")], "response_format": {"type": "yaml"}}, "response_format.type"),
        (
            {"messages": [user("a")], "response_format": {"type": "json_schema"}},
            "response_format.json_schema.schema",
        ),
        ({"messages": [user("a")], "reasoning_effort": "extreme"}, "reasoning_effort"),
        ({"messages": [user("a")], "tools": {"x": 1}}, "tools"),
        ({"messages": [user("a")], "tools": [{"type": "web_search"}]}, "tools[0].type"),
        (
            {"messages": [user("a")], "tools": [{"type": "function", "function": {"name": ""}}]},
            "tools[0].function.name",
        ),
        ({"messages": [user("a")], "tool_choice": "sometimes"}, "tool_choice"),
        ({"messages": [user("a")], "tool_choice": "required"}, "tool_choice"),
        (
            {"messages": [user("a")], "tool_choice": {"type": "function", "function": {"name": "nope"}}},
            "tool_choice",
        ),
        (
            {"messages": [user("a"), {"role": "tool", "tool_call_id": "call_9", "content": "x"}]},
            "messages[1].tool_call_id",
        ),
        ({"messages": [{"role": "assistant", "tool_calls": "x"}]}, "messages[0].tool_calls"),
        (
            {"messages": [{"role": "assistant", "tool_calls": [{"function": {"arguments": "{}"}}]}]},
            "messages[0].tool_calls[0].function.name",
        ),
    ],
)
def test_wrong_input_names_the_parameter(body: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        to_gemini_request(body, model=GEMINI_25_FLASH)
    assert caught.value.param == param
    assert caught.value.status == 400


def test_n_greater_than_one_message() -> None:
    with pytest.raises(InvalidRequest, match=r"n>1 is not supported"):
        translate([user("a")], n=3)


def test_unknown_fields_are_ignored() -> None:
    out = translate(
        [user("a")], logit_bias={"1": 2}, user="u1", metadata={"k": "v"}, n=1, parallel_tool_calls=False
    )
    assert out == {"contents": [{"role": "user", "parts": [{"text": "a"}]}]}


# -- media ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "mime"),
    [
        (f"data:image/png;base64,{b64(PNG)}", "image/png"),
        (f"data:application/octet-stream;base64,{b64(PNG)}", "image/png"),
        (f"data:;base64,{b64(WAV)}", "audio/wav"),
        (
            f"data:image/jpeg;base64,{b64(MP4)}",
            "video/mp4",
        ),  # audio/video through image_url; the bytes decide
        (f"data:image/webp;base64,{b64(b'unknown bytes here')}", "image/webp"),
        ("data:text/plain,hello%20world", "text/plain"),
    ],
)
def test_image_url_data_urls_become_inline_data(url: str, mime: str) -> None:
    out = translate([user([{"type": "image_url", "image_url": {"url": url}}])])
    part = out["contents"][0]["parts"][0]
    assert part["inlineData"]["mimeType"] == mime
    assert base64.b64decode(part["inlineData"]["data"])


def test_data_url_payload_is_not_re_encoded() -> None:
    data = b64(PNG * 100)
    out = translate([user([{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}}])])
    assert out["contents"][0]["parts"][0]["inlineData"]["data"] == data


def test_generic_data_url_with_unknown_bytes_is_refused() -> None:
    with pytest.raises(InvalidRequest) as caught:
        translate(
            [
                user(
                    [
                        {
                            "type": "image_url",
                            "image_url": {"url": f"data:application/octet-stream;base64,{b64(b'????')}"},
                        }
                    ]
                )
            ]
        )
    assert caught.value.param == "messages[0].content[0].image_url.url"


def test_http_urls_come_from_resolved_media() -> None:
    body = {
        "messages": [
            user(
                [
                    {"type": "text", "text": "What is in these?"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
                    {"type": "image_url", "image_url": "https://example.com/song"},
                    {"type": "video_url", "video_url": {"url": "https://example.com/clip"}},
                    {
                        "type": "input_audio",
                        "input_audio": {"data": "https://example.com/song", "format": "mp3"},
                    },
                ]
            )
        ]
    }
    assert media_urls(body) == [
        "https://example.com/cat.png",
        "https://example.com/song",
        "https://example.com/clip",
    ]
    resolved = {
        "https://example.com/cat.png": Media("image/png", b64(PNG)),
        "https://example.com/song": Media("audio/wav", b64(WAV)),
        "https://example.com/clip": Media("video/mp4", b64(MP4)),
    }
    out = to_gemini_request(body, model=GEMINI_25_FLASH, resolved_media=resolved)
    assert [p.get("inlineData", {}).get("mimeType") for p in out["contents"][0]["parts"]] == [
        None,
        "image/png",
        "audio/wav",
        "video/mp4",
        "audio/wav",
    ]


@pytest.mark.parametrize(
    "url", ["https://example.com/unfetched.png", "ftp://example.com/a.png", "file:///etc/passwd"]
)
def test_unresolved_or_unsupported_urls_raise(url: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        translate([user([{"type": "image_url", "image_url": {"url": url}}])])
    assert caught.value.param == "messages[0].content[0].image_url.url"


@pytest.mark.parametrize(
    ("audio", "mime"),
    [
        ({"data": b64(b"\x00" * 30), "format": "mp3"}, "audio/mpeg"),
        ({"data": b64(b"\x00" * 30)}, "audio/wav"),
        ({"data": b64(b"\x00" * 30), "format": "pcm16"}, "audio/pcm"),
        ({"data": b64(b"\x00" * 30), "format": "FLAC"}, "audio/flac"),
        ({"data": b64(WAV), "format": "mp3"}, "audio/wav"),
        ({"data": b64(b"\x1a\x45\xdf\xa3\x00webm" + b"\x00" * 20), "format": "webm"}, "audio/webm"),
    ],
)
def test_input_audio(audio: dict[str, Any], mime: str) -> None:
    out = translate([user([{"type": "input_audio", "input_audio": audio}])])
    assert out["contents"][0]["parts"][0]["inlineData"] == {"mimeType": mime, "data": audio["data"]}


def test_input_audio_unknown_format() -> None:
    with pytest.raises(InvalidRequest) as caught:
        translate([user([{"type": "input_audio", "input_audio": {"data": "AAAA", "format": "midi"}}])])
    assert caught.value.param == "messages[0].content[0].input_audio.format"


@pytest.mark.parametrize(
    ("file", "mime"),
    [
        ({"file_data": f"data:application/pdf;base64,{b64(PDF)}", "filename": "a.pdf"}, "application/pdf"),
        ({"file_data": b64(PDF), "filename": "whatever.bin"}, "application/pdf"),
        ({"file_data": b64(b"col1,col2\n1,2\n"), "filename": "t.csv"}, "text/csv"),
        ({"file_data": b64("héllo wörld".encode())}, "text/plain"),
    ],
)
def test_file_parts(file: dict[str, Any], mime: str) -> None:
    out = translate([user([{"type": "file", "file": file}])])
    assert out["contents"][0]["parts"][0]["inlineData"]["mimeType"] == mime


@pytest.mark.parametrize(
    ("file", "param"),
    [
        ({"file_id": "file-abc"}, "messages[0].content[0].file.file_id"),
        ({"file_data": b64(b"\x00\x01\x02\xff" * 8)}, "messages[0].content[0].file.file_data"),
    ],
)
def test_file_parts_refused(file: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        translate([user([{"type": "file", "file": file}])])
    assert caught.value.param == param


# -- tool calls in history -----------------------------------------------------------------------


def _tool_history(
    arguments: str = '{"city": "Paris"}', call_id: str | None = "call_1"
) -> list[dict[str, Any]]:
    call: dict[str, Any] = {"type": "function", "function": {"name": "get_weather", "arguments": arguments}}
    if call_id is not None:
        call["id"] = call_id
    result: dict[str, Any] = {"role": "tool", "content": '{"temp": 21}'}
    if call_id is not None:
        result["tool_call_id"] = call_id
    return [user("Weather?"), {"role": "assistant", "content": None, "tool_calls": [call]}, result]


def test_tool_calls_and_results_pair_by_id() -> None:
    out = translate(_tool_history())
    assert out["contents"][1:] == [
        {
            "role": "model",
            "parts": [{"functionCall": {"id": "call_1", "name": "get_weather", "args": {"city": "Paris"}}}],
        },
        {
            "role": "user",
            "parts": [
                {
                    "functionResponse": {
                        "id": "call_1",
                        "name": "get_weather",
                        "response": {"result": {"temp": 21}},
                    }
                }
            ],
        },
    ]


@pytest.mark.parametrize(
    ("arguments", "args"),
    [
        ("not json", {"params": "not json"}),
        ("[1, 2]", {"params": [1, 2]}),
        ("", {}),
        ('{"a": {"b": null}}', {"a": {"b": None}}),
    ],
)
def test_tool_call_arguments(arguments: str, args: Any) -> None:
    out = translate(_tool_history(arguments))
    assert out["contents"][1]["parts"][0]["functionCall"]["args"] == args


def test_missing_ids_are_filled_deterministically_and_paired() -> None:
    out = translate(_tool_history(call_id=None), model=CLAUDE)
    call = out["contents"][1]["parts"][0]["functionCall"]
    response = out["contents"][2]["parts"][0]["functionResponse"]
    assert call["id"] == response["id"] == "call_1_0"
    assert translate(_tool_history(call_id=None), model=CLAUDE) == out


def test_parallel_results_merge_into_one_user_turn_and_text_results_stay_strings() -> None:
    messages = [
        user("Two cities"),
        {
            "role": "assistant",
            "tool_calls": [
                {"id": "a", "type": "function", "function": {"name": "get weather", "arguments": "{}"}},
                {"id": "b", "type": "function", "function": {"name": "get weather", "arguments": "{}"}},
            ],
        },
        {"role": "tool", "tool_call_id": "b", "content": "sunny"},
        {"role": "tool", "tool_call_id": "a", "content": [{"type": "text", "text": "rain"}]},
        user("Thanks"),
    ]
    out = translate(messages)
    assert len(out["contents"]) == 3
    parts = out["contents"][2]["parts"]
    assert parts == [
        {"functionResponse": {"id": "b", "name": "get_weather", "response": {"result": "sunny"}}},
        {"functionResponse": {"id": "a", "name": "get_weather", "response": {"result": "rain"}}},
        {"text": "Thanks"},
    ]


def test_legacy_function_role_pairs_by_name() -> None:
    messages = [
        user("q"),
        {"role": "assistant", "function_call": {"name": "lookup", "arguments": '{"q": 1}'}},
        {"role": "function", "name": "lookup", "content": "42"},
    ]
    out = translate(messages)
    assert out["contents"][2]["parts"][0]["functionResponse"] == {
        "id": "call_1_0",
        "name": "lookup",
        "response": {"result": 42},
    }


# -- thought signatures on replay ----------------------------------------------------------------


def _two_calls(ids: tuple[str, str] = ("c1", "c2")) -> list[dict[str, Any]]:
    return [
        user("go"),
        {
            "role": "assistant",
            "reasoning_content": "I should call both.",
            "tool_calls": [
                {"id": i, "type": "function", "function": {"name": "f", "arguments": "{}"}} for i in ids
            ],
        },
        *({"role": "tool", "tool_call_id": i, "content": "ok"} for i in ids),
    ]


def test_gemini3_sentinel_only_on_the_first_call_of_a_turn() -> None:
    out = translate(_two_calls(), model=GEMINI_3_PRO)
    parts = out["contents"][1]["parts"]
    assert parts[0] == {"text": "I should call both.", "thought": True, "thoughtSignature": SKIP_SIGNATURE}
    assert parts[1]["thoughtSignature"] == SKIP_SIGNATURE
    assert "thoughtSignature" not in parts[2]
    assert all("thoughtSignature" not in p for p in out["contents"][2]["parts"])


@pytest.mark.parametrize("model", [GEMINI_25_FLASH, GPT_OSS])
def test_no_sentinel_on_calls_outside_gemini3(model: Any) -> None:
    out = translate(_two_calls(), model=model)
    assert all("thoughtSignature" not in p for p in out["contents"][1]["parts"] if "functionCall" in p)


@pytest.mark.parametrize("model", [CLAUDE, CLAUDE_THINKING])
def test_claude_never_gets_fabricated_signatures_and_unsigned_reasoning_is_dropped(model: Any) -> None:
    out = translate(_two_calls(), model=model)
    parts = out["contents"][1]["parts"]
    assert all("thoughtSignature" not in p and not p.get("thought") for p in parts)
    assert [p["functionCall"]["id"] for p in parts] == ["c1", "c2"]


def test_gpt_oss_drops_reasoning() -> None:
    out = translate(_two_calls(), model=GPT_OSS)
    assert not any(p.get("thought") for p in out["contents"][1]["parts"])


# -- tools ---------------------------------------------------------------------------------------


def _tool(name: str, parameters: Any = None, **extra: Any) -> dict[str, Any]:
    function: dict[str, Any] = {"name": name, **extra}
    if parameters is not None:
        function["parameters"] = parameters
    return {"type": "function", "function": function}


def test_tools_become_function_declarations() -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string", "minLength": 1}},
        "required": ["city"],
    }
    out = translate(
        [user("a")],
        tools=[
            _tool("get_weather", schema, description="Weather", strict=True),
            _tool("noargs"),
            _tool("get_weather", schema),
            _tool("codeExecution"),
        ],
    )
    assert out["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "get_weather",
                    "description": "Weather",
                    "parameters": {
                        "type": "object",
                        "properties": {"city": {"type": "string", "description": "(minLength: 1)"}},
                        "required": ["city"],
                    },
                },
                {"name": "noargs", "parameters": {"type": "object", "properties": {}}},
            ]
        },
        {"codeExecution": {}},
    ]
    assert "toolConfig" not in out
    assert all("parametersJsonSchema" not in d for d in out["tools"][0]["functionDeclarations"])


def test_builtin_tools_alone() -> None:
    out = translate([user("a")], tools=[_tool("googleSearch")])
    assert out["tools"] == [{"googleSearch": {}}]
    with pytest.raises(InvalidRequest) as caught:
        translate([user("a")], tools=[_tool("googleSearch"), _tool("f")])
    assert caught.value.param == "tools"


def test_function_names_are_sanitised_and_restorable() -> None:
    """Names OpenAI accepts but the upstream does not (a leading digit) go out sanitised."""
    names = ["1st", "_1st", "a_b", "ok-name_v1", "x" * 64]
    body = {"messages": [user("a")], "tools": [_tool(n) for n in names]}
    out = to_gemini_request(body, model=GEMINI_25_FLASH)
    sent = [d["name"] for d in out["tools"][0]["functionDeclarations"]]
    assert sent == ["_1st", "_1st_2", "a_b", "ok-name_v1", "x" * 64]
    mapping = tool_name_map(body)
    assert {mapping.get(s, s) for s in sent} == set(names)


@pytest.mark.parametrize("name", ["bad name!", "search web", "mcp/fs.read", "ok-name:v1.2", "x" * 65])
def test_function_names_openai_refuses_are_a_400_naming_the_tool(name: str) -> None:
    body = {"messages": [user("a")], "tools": [_tool("fine"), _tool(name)]}
    with pytest.raises(InvalidRequest) as caught:
        to_gemini_request(body, model=GEMINI_25_FLASH)
    assert caught.value.param == "tools[1].function.name" and repr(name) in caught.value.message


@pytest.mark.parametrize(
    ("model", "choice", "expected"),
    [
        (GEMINI_25_FLASH, None, None),
        (GEMINI_25_FLASH, "auto", {"mode": "AUTO"}),
        (GEMINI_25_FLASH, "none", {"mode": "NONE"}),
        (GEMINI_25_FLASH, "required", {"mode": "ANY"}),
        (
            GEMINI_25_FLASH,
            {"type": "function", "function": {"name": "1st-weather"}},
            {"mode": "ANY", "allowedFunctionNames": ["_1st-weather"]},
        ),
        (CLAUDE, None, {"mode": "VALIDATED"}),
        (CLAUDE, "auto", {"mode": "VALIDATED"}),
        (CLAUDE, "none", {"mode": "NONE"}),
        (CLAUDE, "required", {"mode": "ANY"}),
    ],
)
def test_tool_choice(model: Any, choice: Any, expected: Any) -> None:
    body: dict[str, Any] = {"messages": [user("a")], "tools": [_tool("1st-weather")]}
    if choice is not None:
        body["tool_choice"] = choice
    out = to_gemini_request(body, model=model)
    assert out.get("toolConfig") == (None if expected is None else {"functionCallingConfig": expected})


def test_claude_tool_schemas_get_placeholders() -> None:
    out = translate(
        [user("a")],
        model=CLAUDE,
        tools=[_tool("noargs"), _tool("opt", {"type": "object", "properties": {"x": {"type": "string"}}})],
    )
    declarations = out["tools"][0]["functionDeclarations"]
    assert declarations[0]["parameters"]["required"] == ["reason"]
    assert declarations[1]["parameters"]["required"] == ["_"]
    assert set(declarations[1]["parameters"]["properties"]) == {"x", "_"}


# -- generation parameters -----------------------------------------------------------------------


def test_sampling_parameters() -> None:
    out = translate(
        [user("a")],
        temperature=0.5,
        top_p=0.9,
        top_k=40,
        max_tokens=100,
        stop="END",
        seed=7,
        presence_penalty=0.1,
        frequency_penalty=-0.2,
    )
    assert out["generationConfig"] == {
        "temperature": 0.5,
        "topP": 0.9,
        "topK": 40,
        "maxOutputTokens": 100,
        "stopSequences": ["END"],
        "seed": 7,
        "presencePenalty": 0.1,
        "frequencyPenalty": -0.2,
    }


def test_max_completion_tokens_wins_and_is_capped() -> None:
    out = translate([user("a")], max_tokens=5, max_completion_tokens=10**9)
    assert out["generationConfig"]["maxOutputTokens"] == GEMINI_25_FLASH.max_output_tokens


@pytest.mark.parametrize(
    ("response_format", "expected"),
    [
        ({"type": "text"}, None),
        ({"type": "json_object"}, {"responseMimeType": "application/json"}),
        (
            {
                "type": "json_schema",
                "json_schema": {
                    "name": "x",
                    "strict": True,
                    "schema": {
                        "type": "object",
                        "properties": {"a": {"const": 1}},
                        "additionalProperties": False,
                        "$schema": "s",
                    },
                },
            },
            {
                "responseMimeType": "application/json",
                "responseSchema": {
                    "type": "object",
                    "properties": {"a": {"type": "string", "enum": ["1"]}},
                    "additionalProperties": False,
                },
            },
        ),
    ],
)
def test_response_format(response_format: Any, expected: Any) -> None:
    out = translate([user("a")], response_format=response_format)
    assert out.get("generationConfig") == expected


@pytest.mark.parametrize(
    ("model", "body", "expected_thinking", "expected_max"),
    [
        (GEMINI_25_FLASH, {}, None, None),
        (
            GEMINI_25_FLASH,
            {"reasoning_effort": "high"},
            {"includeThoughts": True, "thinkingBudget": 24576},
            None,
        ),
        (
            GEMINI_25_FLASH,
            {"reasoning_effort": "none"},
            {"includeThoughts": False, "thinkingBudget": 0},
            None,
        ),
        (
            GEMINI_25_FLASH,
            {"reasoning_effort": "xhigh"},
            {"includeThoughts": True, "thinkingBudget": 24576},
            None,
        ),
        (GEMINI_25_THINKING, {}, {"includeThoughts": True, "thinkingBudget": 1024}, None),
        (GEMINI_25_PRO, {}, {"includeThoughts": True}, None),
        (GEMINI_25_PRO, {"reasoning_effort": "none"}, {"includeThoughts": True, "thinkingBudget": 128}, None),
        (
            GEMINI_25_PRO,
            {"reasoning_effort": "low", "max_tokens": 500},
            {"includeThoughts": True, "thinkingBudget": 499},
            500,
        ),
        (
            GEMINI_25_FLASH,
            {"reasoning_effort": "low", "max_tokens": 1},
            {"includeThoughts": False, "thinkingBudget": 0},
            1,
        ),
        (GEMINI_3_PRO, {}, {"includeThoughts": True}, None),
        (GEMINI_3_PRO, {"reasoning_effort": "high"}, {"includeThoughts": True}, None),
        (
            GEMINI_3_LEVELS,
            {"reasoning_effort": "low"},
            {"includeThoughts": True, "thinkingLevel": "low"},
            None,
        ),
        (
            GEMINI_3_LEVELS,
            {"reasoning_effort": "medium"},
            {"includeThoughts": True, "thinkingLevel": "high"},
            None,
        ),
        (
            GEMINI_3_LEVELS,
            {"reasoning_effort": "minimal"},
            {"includeThoughts": True, "thinkingLevel": "low"},
            None,
        ),
        (
            GEMINI_3_FLASH,
            {"reasoning_effort": "medium"},
            {"includeThoughts": True, "thinkingLevel": "medium"},
            None,
        ),
        (
            GEMINI_3_FLASH,
            {"reasoning_effort": "none"},
            {"includeThoughts": True, "thinkingLevel": "minimal"},
            None,
        ),
        (CLAUDE, {"reasoning_effort": "high"}, None, 64000),
        (CLAUDE_THINKING, {}, {"includeThoughts": True, "thinkingBudget": 8192}, 64000),
        (
            CLAUDE_THINKING,
            {"reasoning_effort": "low"},
            {"includeThoughts": True, "thinkingBudget": 1024},
            64000,
        ),
        (
            CLAUDE_THINKING,
            {"reasoning_effort": "high", "max_tokens": 4096},
            {"includeThoughts": True, "thinkingBudget": 4095},
            4096,
        ),
        (CLAUDE_THINKING, {"max_tokens": 500}, None, 500),
        (GPT_OSS, {"reasoning_effort": "high"}, {"includeThoughts": True}, None),
        (IMAGE, {"reasoning_effort": "high"}, None, None),
    ],
)
def test_thinking_config(model: Any, body: dict[str, Any], expected_thinking: Any, expected_max: Any) -> None:
    config = translate([user("a")], model=model, **body).get("generationConfig", {})
    assert config.get("thinkingConfig") == expected_thinking
    assert config.get("maxOutputTokens") == expected_max
    thinking = config.get("thinkingConfig") or {}
    if model.is_claude and thinking.get("thinkingBudget"):
        assert thinking["thinkingBudget"] < config["maxOutputTokens"]


# -- image models --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "image_config"),
    [
        ({}, {"aspectRatio": "1:1", "imageSize": "1K"}),
        ({"aspect_ratio": "16:9", "image_size": "4k"}, {"aspectRatio": "16:9", "imageSize": "4K"}),
        ({"aspect_ratio": "2:1"}, {"aspectRatio": "16:9", "imageSize": "1K"}),
        ({"aspect_ratio": "1:3"}, {"aspectRatio": "9:16", "imageSize": "1K"}),
        ({"aspect_ratio": "1920:1080"}, {"aspectRatio": "16:9", "imageSize": "1K"}),
        (
            {"image_config": {"aspect_ratio": "3:4", "image_size": "2K"}},
            {"aspectRatio": "3:4", "imageSize": "2K"},
        ),
    ],
)
def test_image_model_request(extra: dict[str, Any], image_config: dict[str, str]) -> None:
    out = translate(
        [{"role": "system", "content": "House style: watercolour."}, user("Draw a kitten")],
        model=IMAGE,
        **extra,
    )
    assert out == {
        "contents": [
            {"role": "user", "parts": [{"text": "House style: watercolour."}, {"text": "Draw a kitten"}]}
        ],
        "generationConfig": {"responseModalities": ["TEXT", "IMAGE"], "imageConfig": image_config},
    }


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"aspect_ratio": "wide"}, "aspect_ratio"),
        ({"aspect_ratio": "0:1"}, "aspect_ratio"),
        ({"aspect_ratio": 1.5}, "aspect_ratio"),
        ({"image_size": "8K"}, "image_size"),
        ({"tools": [_tool("f")]}, "tools"),
    ],
)
def test_image_model_refusals(extra: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        translate([user("Draw")], model=IMAGE, **extra)
    assert caught.value.param == param


@pytest.mark.parametrize(
    ("ratio", "crop"),
    [(None, None), ("16:9", None), ("32:18", None), ("2:1", (2.0, 1.0)), ("1.91:1", (1.91, 1.0))],
)
def test_image_crop_ratio(ratio: str | None, crop: Any) -> None:
    from switchyard.translate import image_crop_ratio

    body: dict[str, Any] = {"messages": [user("x")]}
    if ratio is not None:
        body["aspect_ratio"] = ratio
    assert image_crop_ratio(body, model=IMAGE) == crop
    assert image_crop_ratio(body, model=GEMINI_25_FLASH) is None


def test_input_body_is_not_mutated() -> None:
    import copy

    body = {
        "messages": [*_two_calls(), {"role": "system", "content": "s"}],
        "tools": [
            _tool("f", {"type": "object", "properties": {"a": {"type": ["string", "null"]}}, "$defs": {}})
        ],
        "temperature": 1,
    }
    snapshot = copy.deepcopy(body)
    for model in (GEMINI_3_PRO, CLAUDE_THINKING, GEMINI_25_FLASH, GPT_OSS):
        to_gemini_request(body, model=model)
    to_gemini_request({**body, "tools": []}, model=IMAGE)
    assert body == snapshot
