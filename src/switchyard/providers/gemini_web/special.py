"""The two web tools that do not answer within one stream: Deep Research and video (Veo).

Deep Research (`-deepsearch`) is the web app's own two-turn flow (protocols/gemini-web.md §7): a
plan, its confirmation, then a report written server-side; `GeminiClient.deep_research` runs it and
polls until the report is there. The plan is returned as reasoning and the report as the answer.

Video (`-video`) needs a Google AI Pro (or higher) plan: a free account only answers in words that
it cannot. An account's plan shows in its models' capacity (1 free, 2+ paid, §3), so a free account
is skipped before anything is sent (another account may be paid). On a paid account the turn
answers with a pending job; the video's URLs appear later in the conversation history and the file
answers 206 while Veo renders, so both are polled until done.
"""

from __future__ import annotations

import asyncio
from typing import Any

from curl_cffi.requests import AsyncSession
from gemini_webapi import ChatSession, GeminiClient

from switchyard.errors import UpstreamTransient
from switchyard.providers.gemini_web.media import Blob, download_video

PAID_CAPACITY = 2


def require_video_plan(capacity: int) -> None:
    """Refuse (for this account) before sending when its plan (the picker's capacity) cannot make videos."""
    if capacity < PAID_CAPACITY:
        raise UpstreamTransient(
            "Video generation (Veo) needs a Google AI Pro or Ultra plan; this Gemini web account is on "
            "the free plan. Add a paid account for -video models."
        )


async def wait_for_video(
    client: GeminiClient, cid: str, live: AsyncSession, *, poll_s: float, timeout_s: float
) -> Blob:
    """The rendered video of the conversation's latest turn."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        history = await client.read_chat(cid)
        latest = history.turns[0].model_output if history and history.turns else None
        if latest is not None and latest.videos:
            remaining = max(1.0, deadline - loop.time())
            return await download_video(latest.videos[0].url, live, timeout_s=remaining)
        if loop.time() > deadline:
            raise UpstreamTransient(f"Gemini web did not publish the generated video within {timeout_s:g} s")
        await asyncio.sleep(poll_s)


async def deep_research(
    client: GeminiClient, chat: ChatSession, prompt: str, *, poll_s: float, timeout_s: float
) -> tuple[str, str]:
    """(the plan as reasoning text, the report) of a full Deep Research run."""
    result = await client.deep_research(prompt, poll_interval=poll_s, timeout=timeout_s, chat=chat)
    plan = result.plan
    steps = "\n".join(f"- {step}" for step in getattr(plan, "steps", None) or [])
    reasoning = f"Research plan: {getattr(plan, 'title', '') or prompt}\n{steps}".strip()
    document: Any = result.document
    report = getattr(document, "content", "") if document is not None else ""
    if not result.done or not report:
        raise UpstreamTransient(f"Deep Research did not finish within {timeout_s:g} s")
    return reasoning, report
