"""Thought signatures: a bounded cache, and carrying a signature inside a tool-call id.

Why (field-notes 2 and 3, protocols/antigravity.md §8.4): Gemini 3 refuses a replayed
`functionCall` without the `thoughtSignature` it issued, and Claude refuses a thinking block whose
signature is missing or invented. OpenAI clients drop both. The response translator records every
signature it sees here, keyed by tool-call id and by the thinking text; the request translator
puts them back. When the cache has forgotten (restart, another gateway instance), the tool-call id
itself may carry the signature: `call_x__sig_g3_<urlsafe base64>`, emitted only while short enough.

A signature is only valid for the family that issued it, so every entry remembers its family and
lookups for another family miss: a Claude signature never reaches Gemini, nor the reverse.

Surviving restarts and other instances (issue 13): memory is the first tier; an attached
`SignatureBacking` (the store, and Redis when configured) is the second. The lookups stay
synchronous (the translators are pure), so a surface `await`s `recall(...)` for the keys a request
may need before translating it, and `save()` after an answer, which writes what was learned since.
Signatures no longer ride in tool-call ids; ids made that way before are still read.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from switchyard.translate.profile import Family

log = logging.getLogger(__name__)

SKIP_SIGNATURE = "skip_thought_signature_validator"
"""The sentinel Gemini accepts in place of a signature it cannot verify (never sent to Claude)."""

ID_SIGNATURE_SEPARATOR = "__sig_"
MAX_ID_LENGTH = 1024
"""Longest tool-call id we hand to a client; longer signatures live in the cache only."""

_FAMILY_TAGS: dict[str, Family] = {
    "g25": "gemini-2.5",
    "g3": "gemini-3",
    "cl": "claude",
    "oss": "gpt-oss",
    "img": "image",
}
_TAG_OF_FAMILY: dict[Family, str] = {family: tag for tag, family in _FAMILY_TAGS.items()}
_STANDARD_B64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_TO_URLSAFE = str.maketrans("+/", "-_")
_FROM_URLSAFE = str.maketrans("-_", "+/")


@dataclass(frozen=True, slots=True)
class SignedThought:
    """A signature and, for thinking blocks, the thinking text it signs (Claude needs both)."""

    family: Family
    signature: str
    thinking: str | None = None


class SignatureBacking(Protocol):
    """A slower tier shared across restarts and instances (`store.thought_signatures`)."""

    async def save(self, entries: list[tuple[str, SignedThought]]) -> None: ...

    async def load(self, keys: list[str]) -> dict[str, SignedThought]: ...


MAX_UNSAVED = 10_000
"""Entries waiting for `save()`; beyond it the oldest are only kept in memory."""


class SignatureCache:
    """An LRU of signatures, bounded by entry count and by total characters held.

    Keys are tool-call ids (`call:<id>`), thinking-text digests (`think:<sha256>`) and generated
    media digests (`media:<sha256>`). One instance is
    owned by the provider and passed into the translators; it is not a module global.
    """

    def __init__(self, max_entries: int = 20_000, max_chars: int = 64 * 1024 * 1024) -> None:
        self._entries: OrderedDict[str, SignedThought] = OrderedDict()
        self._max_entries = max_entries
        self._max_chars = max_chars
        self._chars = 0
        self._backing: SignatureBacking | None = None
        self._unsaved: OrderedDict[str, SignedThought] = OrderedDict()

    def attach(self, backing: SignatureBacking | None) -> None:
        """Add (or, with None, remove) the shared tier behind memory."""
        self._backing = backing
        self._unsaved.clear()

    async def recall(self, *, tool_call_ids: Iterable[str] = (), thinking_texts: Iterable[str] = ()) -> None:
        """Bring into memory what the shared tier knows of these keys (those memory lacks).

        A failing tier is logged, never raised: a forgotten signature has its own recovery."""
        if self._backing is None:
            return
        keys = ["call:" + i for i in tool_call_ids] + ["think:" + _digest(t) for t in thinking_texts]
        missing = list(dict.fromkeys(key for key in keys if key not in self._entries))
        if not missing:
            return
        try:
            found = await self._backing.load(missing)
        except Exception:
            log.warning("could not read thought signatures from the shared store", exc_info=True)
            return
        for key, thought in found.items():
            self._put(key, thought, save=False)

    async def save(self) -> None:
        """Write what was learned since the last save to the shared tier (logged on failure)."""
        if self._backing is None or not self._unsaved:
            return
        entries = list(self._unsaved.items())
        self._unsaved.clear()
        try:
            await self._backing.save(entries)
        except Exception:
            log.warning(
                "could not write %d thought signatures to the shared store", len(entries), exc_info=True
            )

    def __len__(self) -> int:
        return len(self._entries)

    def remember_tool_call(self, tool_call_id: str, thought: SignedThought) -> None:
        self._put("call:" + tool_call_id, thought)

    def tool_call(self, tool_call_id: str, family: Family) -> SignedThought | None:
        """The signature recorded for a tool call, if it was issued by `family`."""
        return self._get("call:" + tool_call_id, family)

    def remember_thinking(self, thinking: str, thought: SignedThought) -> None:
        self._put("think:" + _digest(thinking), thought)

    def remember_turn(
        self, family: Family, signature: str, thinking_pieces: Iterable[str], call_ids: Iterable[str]
    ) -> None:
        """A turn's thinking signature: kept with the text it signs and, for Claude (one signature
        covers the whole turn, arriving after the thoughts), with each tool call of the turn."""
        thinking = "".join(thinking_pieces) or None
        thought = SignedThought(family, signature, thinking)
        if thinking is not None:
            self.remember_thinking(thinking, thought)
        if family == "claude":
            for call_id in call_ids:
                self.remember_tool_call(call_id, thought)

    def thinking(self, thinking: str, family: Family) -> SignedThought | None:
        """The signature recorded for this exact thinking text, if issued by `family`."""
        return self._get("think:" + _digest(thinking), family)

    def remember_media(self, data_b64: str, thought: SignedThought) -> None:
        """Generated images carry signatures too; multi-turn image edits must send them back."""
        self._put("media:" + _digest(data_b64), thought)

    def media(self, data_b64: str, family: Family) -> SignedThought | None:
        return self._get("media:" + _digest(data_b64), family)

    def _get(self, key: str, family: Family) -> SignedThought | None:
        entry = self._entries.get(key)
        if entry is None or entry.family != family:
            return None
        self._entries.move_to_end(key)
        return entry

    def _put(self, key: str, thought: SignedThought, *, save: bool = True) -> None:
        if save and self._backing is not None:
            self._unsaved.pop(key, None)
            self._unsaved[key] = thought
            if len(self._unsaved) > MAX_UNSAVED:
                self._unsaved.popitem(last=False)
        old = self._entries.pop(key, None)
        if old is not None:
            self._chars -= _size(old)
        self._entries[key] = thought
        self._chars += _size(thought)
        while self._entries and (len(self._entries) > self._max_entries or self._chars > self._max_chars):
            _, evicted = self._entries.popitem(last=False)
            self._chars -= _size(evicted)


def _size(thought: SignedThought) -> int:
    return len(thought.signature) + len(thought.thinking or "")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def encode_signature_in_id(base_id: str, family: Family, signature: str) -> str:
    """`base_id` with the signature appended, or `base_id` alone when it cannot or should not carry it.

    Only padded standard-base64 signatures are carried (the URL-safe re-encoding must be reversible;
    this also excludes the sentinel), never Claude's (Claude also needs the thinking text, which no id can hold), and
    only while the whole id stays within `MAX_ID_LENGTH`.
    """
    if family == "claude" or len(signature) % 4 or not _STANDARD_B64.fullmatch(signature):
        return base_id
    encoded = f"{base_id}{ID_SIGNATURE_SEPARATOR}{_TAG_OF_FAMILY[family]}_{signature.translate(_TO_URLSAFE).rstrip('=')}"
    return encoded if len(encoded) <= MAX_ID_LENGTH else base_id


def decode_signature_from_id(tool_call_id: str) -> tuple[str, SignedThought | None]:
    """Split an id made by `encode_signature_in_id` into (upstream id, signature or None)."""
    base_id, sep, rest = tool_call_id.rpartition(ID_SIGNATURE_SEPARATOR)
    if not sep:
        return tool_call_id, None
    tag, _, encoded = rest.partition("_")
    family = _FAMILY_TAGS.get(tag)
    if family is None or not encoded:
        return tool_call_id, None
    signature = encoded.translate(_FROM_URLSAFE)
    signature += "=" * (-len(signature) % 4)
    return base_id, SignedThought(family, signature)


TAGGED_PREFIX = "sy."


def tag_signature(family: Family, signature: str) -> str:
    """A non-Claude signature as an opaque Anthropic `signature` field: `sy.<family tag>.<signature>`.

    Anthropic clients replay thinking blocks exactly, but may switch models between turns; the tag
    lets the request side send a signature only to the family that issued it. Claude's own
    signatures are never tagged (Claude gets them back byte for byte)."""
    return f"{TAGGED_PREFIX}{_TAG_OF_FAMILY[family]}.{signature}"


def untag_signature(value: str) -> SignedThought | None:
    """The family and signature of a tagged value, or None when it is not one of ours (Claude's)."""
    if not value.startswith(TAGGED_PREFIX):
        return None
    tag, _, signature = value[len(TAGGED_PREFIX) :].partition(".")
    family = _FAMILY_TAGS.get(tag)
    return SignedThought(family, signature) if family is not None and signature else None
