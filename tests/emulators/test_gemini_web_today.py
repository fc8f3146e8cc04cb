"""The Gemini web emulator as the service is today (protocols/gemini-web.md §13), driven by the real,
unmodified `gemini_webapi` client: the picker and mode list, extended thinking chosen by the header,
the ~130 KB cut from the end, error 1155, gated models served as Flash-Lite, scripted answers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from gemini_webapi import GeminiClient
from gemini_webapi.exceptions import APIError

from switchyard.emulators.gemini_web import create_app
from switchyard.emulators.tls_proxy import GeminiWebProxy
from tests.emulators.test_gemini_web_client import Emulator, run_with_client

CAP = 2_000


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    app = create_app(frame_delay_s=0.0, prompt_cap_bytes=CAP)
    proxy = GeminiWebProxy(app, ca_dir=tmp_path_factory.mktemp("gemini-web-today") / "ca")
    with proxy.running_in_thread(), httpx.Client(base_url=proxy.proxy_url, timeout=10) as control:
        yield Emulator(proxy, control)


@pytest.fixture(autouse=True)
def cookie_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMINI_COOKIE_PATH", str(tmp_path / "cookies"))


def _account(emulator: Emulator, **spec: Any) -> dict[str, Any]:
    response = emulator.control.post(
        "/_control/accounts", json={"name": f"gemini-web-{uuid.uuid4().hex[:8]}", **spec}
    )
    response.raise_for_status()
    return dict(response.json())


def test_the_picker_lists_flash_lite_flash_and_pro_and_thinking_is_a_mode(emulator: Emulator) -> None:
    account = _account(emulator, offer=["Flash", "Flash-Lite"])

    async def work(client: GeminiClient) -> list[tuple[str, str, int]]:
        return [(m.model_name, m.display_name, m.model_number) for m in client.list_models() or []]

    assert run_with_client(emulator, account, work) == [
        ("gemini-flash", "3.6 Flash", 1),
        ("gemini-flash-lite", "3.5 Flash-Lite", 6),
    ]
    listed = next(
        a for a in emulator.control.get("/_control/accounts").json() if a["name"] == account["name"]
    )
    assert [mode[1] for mode in listed["modes"]] == ["Fast", "Thinking"]  # no Pro mode without Pro


def test_extended_thinking_comes_from_the_header_and_shows_thoughts(emulator: Emulator) -> None:
    account = _account(emulator)

    async def work(client: GeminiClient) -> tuple[str | None, str | None]:
        plain = await client.generate_content("plain question", model="gemini-flash")
        deep = await client.generate_content("deep question", model="gemini-flash", extended_thinking=True)
        return plain.thoughts, deep.thoughts

    plain, deep = run_with_client(emulator, account, work)
    assert not plain and deep and "deep question" in deep
    sent = emulator.generate_requests(account)
    assert [r["extended_thinking"] for r in sent] == [False, True]


def test_a_prompt_beyond_the_cap_loses_its_end(emulator: Emulator) -> None:
    account = _account(emulator)
    prompt = "old " * 1000 + "NEWEST QUESTION"

    async def work(client: GeminiClient) -> str:
        return (await client.generate_content(prompt)).text

    text = run_with_client(emulator, account, work)
    assert "Ends with:" in text and "NEWEST QUESTION" not in text
    sent = emulator.generate_requests(account)[0]
    assert sent["cut"] and sent["prompt_bytes"] > CAP


def test_error_1155_is_an_empty_200(emulator: Emulator) -> None:
    account = _account(emulator)
    emulator.fault(fault="empty_answer", match={"account": account["name"]})

    async def work(client: GeminiClient) -> str:
        with pytest.raises(APIError, match="1155"):
            await client.generate_content("hello", current_retry=0)  # type: ignore[call-arg]
        await client.init(auto_refresh=False)  # the library closes the client on it
        return (await client.generate_content("hello again")).text

    assert run_with_client(emulator, account, work).startswith("Echo: hello again")


def test_a_gated_model_is_silently_served_by_flash_lite(emulator: Emulator) -> None:
    account = _account(emulator, gated=["Pro"])

    async def work(client: GeminiClient) -> str:
        return (await client.generate_content("who are you", model="gemini-pro")).text

    assert "3.5 Flash-Lite" in run_with_client(emulator, account, work)


def test_scripted_replies_answer_the_next_turns_in_order(emulator: Emulator) -> None:
    account = _account(emulator)
    replies = [{"text": "first scripted"}, {"text": "second scripted"}]
    emulator.control.post(
        "/_control/script", json={"match": {"account": account["name"]}, "replies": replies}
    ).raise_for_status()
    refused = emulator.control.post("/_control/script", json={"replies": [{"function_call": {"name": "x"}}]})
    assert refused.status_code == 400

    async def work(client: GeminiClient) -> list[str]:
        return [(await client.generate_content(p)).text for p in ("a", "b", "c")]

    first, second, third = run_with_client(emulator, account, work)
    assert (first, second) == ("first scripted", "second scripted") and third.startswith("Echo: c")
