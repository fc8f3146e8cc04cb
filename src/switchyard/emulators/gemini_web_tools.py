"""Deep Research and video (Veo) turns, as far as protocols/gemini-web.md §7 documents them.

Deep Research is a two-turn conversation flagged `inner[49] = 1`: the first turn answers with a
plan (rich field 55, sparse key "56"), the confirming turn starts the task and attaches an empty
document at `cand[30][0]` whose task id is the placeholder Gemini sends; the report body appears
in that document, read back with hNvQHb, once the research is "done".

Video: a pending `video_gen_chip` (sparse key "65") in the stream; the URLs (rich field 59, sparse
key "60") appear in hNvQHb once rendered; the video URL answers 206 while rendering. Free accounts
get a refusal. Canvas, Storybook and the other tools have no documented payload (§7: unknown).
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

RESEARCH_PLAN_KEY = "56"  # field 55 + 1
VIDEO_KEY = "60"  # field 59 + 1
VIDEO_CHIP_KEY = "65"  # field 64 + 1: pending job
DOC_ID, DOC_TITLE, DOC_TASK_ID, DOC_CONTENT = 0, 2, 3, 4
DOC_LENGTH = 5
TASK_ID_PLACEHOLDER = "agency-placeholder-task-id"
PLAN_TITLE, PLAN_STEPS, PLAN_ETA, PLAN_CONFIRM, PLAN_MODIFY = 0, 1, 2, 3, 5
PLAN_LENGTH = 6
STEP_LABEL, STEP_BODY = 1, 2
VIDEO_INFO_URLS = 7  # video_info[0][7] = [thumbnail, video]
VIDEO_CHIP = "http://googleusercontent.com/video_gen_chip/0"
VIDEO_HOST = "lh3.googleusercontent.com"
VIDEO_PROMPT_RE = re.compile(
    r"\b(generate|create|make|render|produce|animate)\b\W+(?:\w+\W+){0,4}?(video|videos|clip|animation)\b",
    re.IGNORECASE,
)
VIDEO_REFUSAL = "I can't create videos for you on your current plan. Upgrade to Google AI Pro to generate videos with Veo."
# minimal ISO BMFF header so the bytes sniff as MP4
MP4_BYTES = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64


def wants_video(prompt: str) -> bool:
    return bool(VIDEO_PROMPT_RE.search(prompt))


@dataclass
class ResearchDocument:
    topic: str
    ready_at: float
    doc_id: str = field(default_factory=lambda: "dr_" + secrets.token_hex(8))

    @property
    def title(self) -> str:
        return f"Research report: {self.topic[:60]}"

    def content(self) -> str:
        if time.monotonic() < self.ready_at:
            return ""
        return (
            f"# {self.title}\n\n## Summary\n\nEmulated deep research on: {self.topic}\n\n"
            "## Findings\n\n1. The emulator found this.\n2. And this.\n"
        )

    def attachment(self, include_body: bool) -> list[Any]:
        doc: list[Any] = [None] * DOC_LENGTH
        doc[DOC_ID] = self.doc_id
        doc[DOC_TITLE] = self.title
        doc[DOC_TASK_ID] = TASK_ID_PLACEHOLDER
        doc[DOC_CONTENT] = self.content() if include_body else ""
        return [doc]


def research_plan(topic: str) -> list[Any]:
    steps = [
        [None, "Research websites", f"Research {topic}"],
        [None, "Analyze results", "Compare the sources found"],
        [None, "Create report", "Write a structured report"],
    ]
    plan: list[Any] = [None] * PLAN_LENGTH
    plan[PLAN_TITLE] = topic[:80]
    plan[PLAN_STEPS] = steps
    plan[PLAN_ETA] = "Ready in a few mins"
    plan[PLAN_CONFIRM] = ["Start research"]
    plan[PLAN_MODIFY] = ["Edit plan"]
    return plan


def plan_text(topic: str) -> str:
    return f"I've put together a research plan for: {topic}. Let me know if you need to make changes."


def started_text(topic: str) -> str:
    return f"I'm on it. I'll research {topic} and let you know when the report is ready."


@dataclass
class VideoJob:
    """URLs are published halfway through rendering; the file answers 206 until `ready_at`."""

    prompt: str
    started_at: float
    ready_at: float
    job_id: str = field(default_factory=lambda: secrets.token_hex(16))
    token: str = field(default_factory=lambda: "AOI_v" + secrets.token_urlsafe(32))

    @property
    def published(self) -> bool:
        return time.monotonic() >= (self.started_at + self.ready_at) / 2

    @property
    def ready(self) -> bool:
        return time.monotonic() >= self.ready_at

    @property
    def thumbnail_url(self) -> str:
        return f"https://{VIDEO_HOST}/gg-dl/{self.token}-thumb"

    @property
    def video_url(self) -> str:
        return f"https://{VIDEO_HOST}/gg-vid/{self.token}"

    def sparse_chip(self) -> list[Any]:
        return [[VIDEO_CHIP], self.job_id]

    def sparse(self) -> dict[str, Any]:
        """The pending chip until rendered, then the URLs (`[59][0][0][0][0][7]`)."""
        if not self.published:
            return {VIDEO_CHIP_KEY: self.sparse_chip()}
        info: list[Any] = [None] * (VIDEO_INFO_URLS + 1)
        info[VIDEO_INFO_URLS] = [self.thumbnail_url, self.video_url]
        return {VIDEO_KEY: [[[[info]]]]}

    def text(self) -> str:
        return f"Your video is being generated: {self.prompt[:60]}\n\n{VIDEO_CHIP}"
