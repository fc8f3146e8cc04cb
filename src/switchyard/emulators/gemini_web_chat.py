"""Conversations and the StreamGenerate answer stream (§2, §4, §6).

Answers are deterministic: they echo the start of the prompt (and the turn number, the model, the
attached files), so tests can tell answers apart. Each candidate frame carries the full text so far.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from switchyard.emulators import gemini_web_frames as wire
from switchyard.emulators import gemini_web_tools as tools
from switchyard.emulators.gemini_web_accounts import TIER_PRO, WebAccount, WebModel
from switchyard.emulators.gemini_web_images import GeneratedImageRecord, ImageStore

IMAGE_PROMPT_RE = re.compile(
    r"\b(draw|paint|sketch|illustrate)\b"
    r"|\b(generate|create|make|render|produce|design)\b\W+(?:\w+\W+){0,4}?"
    r"(image|images|picture|pictures|photo|photos|illustration|drawing|logo|icon)\b",
    re.IGNORECASE,
)
IMAGE_EDIT_RE = re.compile(r"\b(edit|modify|change|replace|remove|add|recolou?r|turn)\b", re.IGNORECASE)
IMAGE_COUNT_RE = re.compile(
    r"\b(2|3|4|two|three|four)\s+(?:\w+\s+)?(images|pictures|photos|variations)\b", re.IGNORECASE
)
COUNT_WORDS = {"2": 2, "3": 3, "4": 4, "two": 2, "three": 3, "four": 4}
SNIPPET_CHARS = 80
IMAGE_SNIPPET_CHARS = 400
TEXT_FRAMES = 4
THOUGHT_FRAMES = 2


@dataclass
class UploadedFile:
    contrib_id: str
    filename: str
    content_type: str
    data: bytes

    def describe(self) -> str:
        digest = hashlib.sha256(self.data).hexdigest()[:12]
        summary = f"{self.filename} ({self.content_type}, {len(self.data)} bytes, sha256 {digest})"
        if self.content_type.startswith("text/"):
            summary += f' beginning "{self.data[:60].decode("utf-8", "replace")}"'
        return summary


@dataclass
class Gem:
    """A Gem (system prompt); `account` None for Google's predefined ones (§7)."""

    gem_id: str
    name: str
    description: str
    prompt: str
    account: str | None = None

    def rpc_entry(self) -> list[Any]:
        return [self.gem_id, [self.name, self.description], [self.prompt]]


SYSTEM_GEMS = (
    Gem("brainstormer", "Brainstormer", "Help me brainstorm ideas", "You are a brainstorming partner."),
    Gem("coding-partner", "Coding partner", "Help me write code", "You are an expert programmer."),
)


@dataclass
class Turn:
    rid: str
    rcid: str
    prompt: str
    text: str
    thoughts: str
    images: list[GeneratedImageRecord]
    timestamp: tuple[int, int]
    sparse_images: bool = False
    research_plan: list[Any] | None = None
    document: tools.ResearchDocument | None = None
    video: tools.VideoJob | None = None

    def candidate(self, text: str, complete: bool, thoughts: str, history: bool = False) -> list[Any]:
        """The candidate as the stream (history=False) or hNvQHb (history=True) shows it."""
        sparse: dict[str, Any] = {}
        if self.research_plan is not None:
            sparse[tools.RESEARCH_PLAN_KEY] = self.research_plan
        if self.video is not None:
            sparse.update(
                self.video.sparse() if history else {tools.VIDEO_CHIP_KEY: self.video.sparse_chip()}
            )
        entries = [wire.image_entry(i.preview_url, i.filename, i.image_id) for i in self.images]
        return wire.candidate(
            self.rcid,
            text,
            complete=complete,
            thoughts=thoughts,
            images=entries if complete else None,
            sparse_images=self.sparse_images,
            sparse=sparse if complete else None,
            attachment=self.document.attachment(history) if self.document and complete else None,
        )


@dataclass
class Conversation:
    cid: str
    account: str
    model_id: str
    title: str
    temporary: bool
    turns: list[Turn] = field(default_factory=list)
    pinned: bool = False
    research_topic: str | None = None  # set once a deep research plan was proposed

    @property
    def updated(self) -> tuple[int, int]:
        return self.turns[-1].timestamp if self.turns else (int(time.time()), 0)


@dataclass
class ChatStore:
    conversations: dict[str, Conversation] = field(default_factory=dict)
    uploads: dict[str, UploadedFile] = field(default_factory=dict)
    images: ImageStore = field(default_factory=ImageStore)
    videos: dict[str, tools.VideoJob] = field(default_factory=dict)
    gems: dict[str, Gem] = field(default_factory=lambda: {g.gem_id: g for g in SYSTEM_GEMS})
    research_delay_s: float = 2.0
    video_delay_s: float = 2.0

    def recent(self, account: str, pinned: bool) -> list[Conversation]:
        chats = [
            c
            for c in self.conversations.values()
            if c.account == account and not c.temporary and c.pinned == pinned
        ]
        return sorted(chats, key=lambda c: c.updated, reverse=True)


def _snippet(prompt: str) -> str:
    flat = " ".join(prompt.split())
    return flat if len(flat) <= SNIPPET_CHARS else flat[: SNIPPET_CHARS - 1] + "…"


def wants_image(prompt: str, files: list[UploadedFile]) -> bool:
    if IMAGE_PROMPT_RE.search(prompt):
        return True
    has_image = any(f.content_type.startswith("image/") for f in files)
    return has_image and bool(IMAGE_EDIT_RE.search(prompt))


def image_count(prompt: str) -> int:
    match = IMAGE_COUNT_RE.search(prompt)
    return COUNT_WORDS[match.group(1).lower()] if match else 1


def _tail(prompt: str) -> str:
    flat = " ".join(prompt.split())
    return flat if len(flat) <= SNIPPET_CHARS else "…" + flat[-(SNIPPET_CHARS - 1) :]


def compose_answer(
    prompt: str,
    model: WebModel,
    turn_number: int,
    files: list[UploadedFile],
    missing: list[str],
    gem: str | None,
) -> str:
    lines = [f"Echo: {_snippet(prompt)}", f"Ends with: {_tail(prompt)}", ""]
    lines.append(f"This is {model.display_name} on the Switchyard Gemini web emulator (turn {turn_number}).")
    if gem:
        lines.append(f"Gem {gem} is active.")
    for file in files:
        lines.append(f"Attached: {file.describe()}.")
    for name in missing:
        lines.append(f"Attached file {name} could not be read.")
    return "\n".join(lines)


def compose_thoughts(prompt: str) -> str:
    return f"**Reading the request**\n\nThe user wrote: {_snippet(prompt)}\n\n**Answering**\n\nI will echo it back."


def _chunks(text: str, parts: int) -> list[str]:
    """Growing prefixes of `text`, cut at word boundaries where possible."""
    if not text:
        return [""]
    cuts = sorted({max(1, round(len(text) * i / parts)) for i in range(1, parts + 1)})
    prefixes: list[str] = []
    for cut in cuts:
        space = text.rfind(" ", 0, cut)
        end = cut if cut == len(text) or space <= 0 else space
        if not prefixes or end > len(prefixes[-1]):
            prefixes.append(text[:end])
    if prefixes[-1] != text:
        prefixes.append(text)
    return prefixes


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def context_token(cid: str, turn_number: int) -> str:
    return "!" + base64.urlsafe_b64encode(f"{cid}:{turn_number}:{secrets.token_hex(6)}".encode()).decode()


@dataclass
class PlannedTurn:
    """Everything the stream needs, decided before the first byte is sent."""

    conversation: Conversation
    turn: Turn
    model: WebModel
    new_conversation: bool
    show_thoughts: bool


def plan_turn(
    store: ChatStore,
    account: WebAccount,
    model: WebModel,
    parsed: wire.ParsedTurn,
    conversation: Conversation | None,
    thinking_requested: bool,
    served: WebModel | None = None,
    scripted: dict[str, Any] | None = None,
) -> PlannedTurn:
    """Decide the turn. `model` is what the header asked for (the conversation keeps it), `served`
    what answers (Flash-Lite for a gated model), `scripted` a `/_control/script` reply."""
    served = served or model
    files = [store.uploads[ref] for ref, _ in parsed.files if ref in store.uploads]
    missing = [name or ref for ref, name in parsed.files if ref not in store.uploads]
    new_conversation = conversation is None
    if conversation is None:
        conversation = Conversation(
            cid=new_id("c"),
            account=account.name,
            model_id=model.model_id,
            title=_snippet(parsed.prompt)[:40] or "New chat",
            temporary=parsed.temporary,
        )
        store.conversations[conversation.cid] = conversation
    rid, rcid = new_id("r"), new_id("rc")
    turn_number = len(conversation.turns) + 1
    now = time.time()
    turn = Turn(rid, rcid, parsed.prompt, "", "", [], (int(now), int((now % 1) * 1e9)))
    if scripted is not None:
        turn.text = scripted["text"]
    elif parsed.deep_research:
        _research_turn(store, conversation, turn)
    elif tools.wants_video(parsed.prompt):
        if account.tier == TIER_PRO:
            started = time.monotonic()
            turn.video = tools.VideoJob(parsed.prompt, started, started + store.video_delay_s)
            store.videos[turn.video.token] = turn.video
            turn.text = turn.video.text()
        else:
            turn.text = tools.VIDEO_REFUSAL
    elif wants_image(parsed.prompt, files):
        turn.images = [
            store.images.create(account.name, parsed.prompt, conversation.cid, rid, rcid, index)
            for index in range(image_count(parsed.prompt))
        ]
        turn.sparse_images = bool(files)
        placeholders = "\n".join(wire.IMAGE_PLACEHOLDER.format(index=i) for i in range(len(turn.images)))
        said = " ".join(parsed.prompt.split())[:IMAGE_SNIPPET_CHARS]
        turn.text = f"Here is the image you asked for: {said} (turn {turn_number})\n\n{placeholders}"
    else:
        gem = store.gems.get(parsed.gem) if parsed.gem else None
        gem_name = gem.name if gem and gem.account in (None, account.name) else parsed.gem
        turn.text = compose_answer(parsed.prompt, served, turn_number, files, missing, gem_name)
    show_thoughts = served.thinking or thinking_requested
    turn.thoughts = compose_thoughts(parsed.prompt) if show_thoughts else ""
    # Google finishes a turn server-side even if the connection drops, so history has it at once.
    conversation.turns.append(turn)
    return PlannedTurn(conversation, turn, served, new_conversation, show_thoughts)


def _research_turn(store: ChatStore, conversation: Conversation, turn: Turn) -> None:
    """First deep research turn: a plan. The next one (the confirmation) starts the report."""
    if conversation.research_topic is None:
        conversation.research_topic = turn.prompt
        turn.research_plan = tools.research_plan(turn.prompt)
        turn.text = tools.plan_text(turn.prompt)
        return
    topic = conversation.research_topic
    turn.document = tools.ResearchDocument(topic, time.monotonic() + store.research_delay_s)
    turn.text = tools.started_text(topic)


def turn_frames(plan: PlannedTurn) -> list[str]:
    """The data frames of one successful turn, in order (without the closing bookkeeping frames)."""
    conv, turn = plan.conversation, plan.turn
    cid, rid, rcid = conv.cid, turn.rid, turn.rcid
    frames = [wire.frame([wire.data_envelope(wire.metadata_inner(cid, rid))])]
    if plan.show_thoughts:
        for thoughts in _chunks(turn.thoughts, THOUGHT_FRAMES):
            cand = wire.candidate(rcid, "", complete=False, thoughts=thoughts)
            inner = wire.response_inner(
                cid,
                rid,
                cand,
                model_id=plan.model.echoed_id,
                model_name=plan.model.display_name,
                model_number=plan.model.number,
            )
            frames.append(wire.frame([wire.data_envelope(inner)]))
    prefixes = _chunks(turn.text, TEXT_FRAMES)
    for index, text in enumerate(prefixes):
        last = index == len(prefixes) - 1
        cand = turn.candidate(text, complete=last, thoughts=turn.thoughts)
        inner = wire.response_inner(
            cid,
            rid,
            cand,
            context=context_token(cid, len(conv.turns)) if last and not conv.temporary else None,
            timestamp=turn.timestamp if last else None,
            model_id=plan.model.echoed_id,
            model_name=plan.model.display_name,
            model_number=plan.model.number,
        )
        frames.append(wire.frame([wire.data_envelope(inner)]))
    if plan.new_conversation and not conv.temporary:
        frames.append(wire.frame([wire.data_envelope(wire.title_inner(cid, rid, conv.title))]))
    return frames


async def stream_frames(
    frames: list[str], request_number: int, frame_delay_s: float, drop_after: int | None = None
) -> AsyncIterator[bytes]:
    """`)]}'`, the frames with a pause between them, then the bookkeeping frames.

    `drop_after` cuts the stream after that many data frames, with no closing frames.
    """
    sent = 0
    yield wire.XSSI_PREFIX.encode()
    for index, text in enumerate(frames):
        if drop_after is not None and index >= drop_after:
            return
        if index and frame_delay_s:
            await asyncio.sleep(frame_delay_s)
        sent += wire.utf16_len(text)
        yield text.encode()
    for text in wire.bookkeeping_frames(sent, request_number):
        yield text.encode()
