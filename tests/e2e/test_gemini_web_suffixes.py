"""Each capability suffix on Gemini web: honoured through the web protocol, or refused with its reason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.web_stack import WebStack, web_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebStack]:
    folder = tmp_path_factory.mktemp("web-suffixes")
    with web_stack(folder, gemini_web_poll_interval_s=0.2, gemini_web_video_timeout_s=20) as running:
        running.add_account("gemini-web-pro", tier="pro")
        yield running


def _chat(stack: WebStack, model: str, text: str) -> openai.types.chat.ChatCompletion:
    return stack.client().chat.completions.create(model=model, messages=[{"role": "user", "content": text}])


def test_imagen_returns_the_generated_image_through_a_signed_url(stack: WebStack) -> None:
    content = _chat(stack, "gemini-3-pro-imagen", "a lighthouse at dusk").choices[0].message.content or ""
    assert "lighthouse" in content
    url = content.split("](", 1)[1].split(")", 1)[0]
    assert url.startswith(stack.gateway + "/gemini_official/v1/files/")
    image = httpx.get(url)
    assert image.status_code == 200 and image.headers["content-type"].startswith("image/")
    sent = stack.generate_requests()[-1]["prompt"]
    assert sent.startswith("Generate an image") and sent.endswith("a lighthouse at dusk")


def test_deepsearch_runs_deep_research_and_returns_the_report(stack: WebStack) -> None:
    message = _chat(stack, "gemini-2.5-flash-deepsearch", "history of the telegraph").choices[0].message
    assert "Research report: history of the telegraph" in (message.content or "")
    reasoning = (message.model_extra or {}).get("reasoning_content") or ""
    assert "Research plan" in reasoning
    flagged = [r for r in stack.generate_requests() if r["body"]["inner"][49] == 1]
    assert len(flagged) == 2  # the plan and its confirmation, both deep research turns


def test_video_on_a_pro_model_is_served_from_a_paid_account(stack: WebStack) -> None:
    content = _chat(stack, "gemini-3-pro-video", "a cat surfing a wave").choices[0].message.content or ""
    url = content.rsplit("](", 1)[1].split(")", 1)[0]
    video = httpx.get(url)
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"
    assert {r["account"] for r in stack.generate_requests() if "video" in (r["prompt"] or "")} == {
        "gemini-web-pro"
    }


@pytest.mark.parametrize(
    ("model", "reason"),
    [
        ("gemini-2.5-flash-video", "only offered with the Pro models"),
        ("gemini-3-pro-canvas", "Canvas has no documented request payload"),
        ("gemini-2.5-flash-storybook", "Storybook has no documented request payload"),
        ("gemini-3-pro-imagen-deepsearch", "one tool per turn"),
    ],
)
def test_what_the_protocol_cannot_do_is_refused_with_its_reason(
    stack: WebStack, model: str, reason: str
) -> None:
    before = len(stack.generate_requests())
    with pytest.raises(openai.BadRequestError) as caught:
        _chat(stack, model, "anything")
    assert reason in caught.value.message
    assert len(stack.generate_requests()) == before  # nothing was sent upstream


def test_models_listing_offers_the_suffixes(stack: WebStack) -> None:
    ids = {m.id for m in stack.client().models.list()}
    assert {"gemini-3-pro-video", "gemini-2.5-flash-imagen", "gemini-2.5-pro"} <= ids
    assert "gemini-2.5-flash-video" not in ids


def test_tool_protocol_markup_never_reaches_the_client(stack: WebStack, tmp_path: Path) -> None:
    tools: list[Any] = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather for a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    chunks = list(
        stack.client().chat.completions.create(
            model="gemini-3-pro",
            messages=[{"role": "user", "content": "Weather in Paris?"}],
            tools=tools,
            stream=True,
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith("Echo: Weather in Paris?") and "tool_call" not in text
    prompt = stack.generate_requests()[-1]["prompt"]
    assert "get_weather" in prompt and "```tool_call" in prompt  # the protocol was offered
