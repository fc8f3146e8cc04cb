"""Deep Research and video turns of the Gemini web emulator, driven by the real gemini_webapi client."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from gemini_webapi import GeminiClient

from tests.emulators.test_gemini_web_client import Emulator, run_with_client, running_emulator

VIDEO_PROMPT = "Generate a video of a cat surfing a wave"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with running_emulator(tmp_path_factory.mktemp("gemini-web-tools")) as running:
        yield running


@pytest.fixture(autouse=True)
def cookie_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMINI_COOKIE_PATH", str(tmp_path / "cookies"))


def test_deep_research_plan_confirmation_and_report(emulator: Emulator) -> None:
    account = emulator.account()

    async def work(client: GeminiClient) -> tuple[list[str], str, bool]:
        result = await client.deep_research("history of the telegraph", poll_interval=0.2, timeout=10)
        document = result.final_output.deep_research_document if result.final_output else None
        return result.plan.steps, document.content if document else "", result.done

    steps, report, done = run_with_client(emulator, account, work)
    assert done and "history of the telegraph" in report
    assert steps[0] == "Research websites: Research history of the telegraph"
    sent = emulator.generate_requests(account)
    assert [r["body"]["inner"][49] for r in sent] == [1, 1]  # both turns flagged deep research
    assert sent[0]["cid"] == "" and sent[1]["cid"].startswith("c_")  # the confirmation continues the chat
    assert "hNvQHb" in [rpc for r in emulator.requests(account) for rpc in r.get("rpcids") or []]


def test_video_on_a_free_account_is_refused_in_text(emulator: Emulator) -> None:
    account = emulator.account(tier="free")

    async def work(client: GeminiClient) -> tuple[str, int]:
        output = await client.generate_content(VIDEO_PROMPT)
        return output.text, len(output.videos)

    text, videos = run_with_client(emulator, account, work)
    assert "can't create videos" in text and videos == 0


def test_video_is_pending_then_published_then_downloadable(emulator: Emulator, tmp_path: Path) -> None:
    account = emulator.account(tier="pro")
    context = ssl.create_default_context(cafile=str(emulator.proxy.ca_path))

    async def work(client: GeminiClient) -> tuple[int, int, int, bytes]:
        output = await client.generate_content(VIDEO_PROMPT)
        pending = len(output.videos)
        deadline = time.monotonic() + 5
        while True:
            history = await client.read_chat(output.metadata[0])
            model_turn = history.turns[0].model_output if history and history.turns else None
            if model_turn and model_turn.videos:
                break
            assert time.monotonic() < deadline, "the video URLs never appeared"
            await asyncio.sleep(0.1)
        video = model_turn.videos[0]
        headers = {"Referer": "https://gemini.google.com/"}
        with httpx.Client(proxy=emulator.proxy.proxy_url, verify=context) as raw:
            rendering = raw.get(video.url, headers=headers).status_code
        await asyncio.sleep(1.2)  # past the end of rendering
        # gemini_webapi builds videos without its session, so pass the one trusting the CA
        saved = await video.save(path=str(tmp_path), filename="clip", client=client.client)
        thumb = saved["video_thumbnail"]
        return (
            pending,
            rendering,
            Path(thumb).stat().st_size if thumb else 0,
            Path(saved["video"]).read_bytes(),
        )

    pending, rendering, thumb_size, clip = run_with_client(emulator, account, work)
    assert pending == 0  # the stream only carries the pending video chip
    assert rendering == 206
    assert thumb_size > 0 and clip[4:8] == b"ftyp"


def test_gems_list_create_use_and_delete(emulator: Emulator) -> None:
    account = emulator.account()

    async def work(client: GeminiClient) -> tuple[list[str], str, list[str], list[str]]:
        jar = await client.fetch_gems()
        predefined = sorted(gem.name for gem in jar.filter(predefined=True))
        created = await client.create_gem("Pirate", "Talks like a pirate", "Answer like a pirate.")
        answer = (await client.generate_content("Say hello", gem=created)).text
        custom = [gem.name for gem in (await client.fetch_gems()).filter(predefined=False)]
        await client.delete_gem(created)
        after = [gem.name for gem in (await client.fetch_gems()).filter(predefined=False)]
        return predefined, answer, custom, after

    predefined, answer, custom, after = run_with_client(emulator, account, work)
    assert predefined == ["Brainstormer", "Coding partner"]
    assert "Gem Pirate is active" in answer and custom == ["Pirate"] and after == []
    gem_slot = emulator.generate_requests(account)[0]["body"]["inner"][19]
    assert isinstance(gem_slot, str) and gem_slot
