"""Cloaking the words Cloud Code's content filter reacts to in a system prompt (protocols §12.6).

With `requestType: "agent"` Cloud Code answers some phrases in `systemInstruction` with the bare 429
on every retry, though the quota is untouched: bisected to the RFC 2119 line ("MUST, REQUIRED,
SHOULD, …") and a `<system-conventions>` block. One U+200B inside the phrase is enough. This is
CPA's `sensitive-words` cloak (`helps/cloak_obfuscate.go`): listed words matched case-insensitively
in the system prompt only, longest first, a U+200B inserted after the first character. Unlike CPA,
a word is matched only where it is not part of a longer word ("MAY" is cloaked, "mayor" is not), so
a long prompt keeps its ordinary prose intact.

Pure; applied only on the retry after a bare 429, never on the first attempt. The word list is the
setting `antigravity_sensitive_words` (default: `config.ANTIGRAVITY_SENSITIVE_WORDS`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any

ZERO_WIDTH_SPACE = "\u200b"


@functools.lru_cache(maxsize=16)
def _matcher(words: tuple[str, ...]) -> re.Pattern[str] | None:
    ordered = sorted({w for w in words if w.strip()}, key=len, reverse=True)
    if not ordered:
        return None
    alternatives = "|".join(re.escape(word) for word in ordered)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def cloak_text(text: str, words: Sequence[str]) -> str:
    """`text` with every listed word broken by a U+200B after its first character."""
    matcher = _matcher(tuple(words))
    if matcher is None:
        return text
    return matcher.sub(lambda m: m.group(0)[0] + ZERO_WIDTH_SPACE + m.group(0)[1:], text)


def has_system_instruction(request: Mapping[str, Any]) -> bool:
    """Whether a Gemini request carries a non-empty system prompt (the filter's only target)."""
    system = request.get("systemInstruction")
    if not isinstance(system, Mapping):
        return False
    return any(
        isinstance(part, Mapping) and isinstance(part.get("text"), str) and part["text"].strip()
        for part in system.get("parts") or []
    )


def cloak_envelope(envelope: Mapping[str, Any], words: Sequence[str]) -> dict[str, Any]:
    """A copy of a generate envelope whose `request.systemInstruction` texts are cloaked; the rest
    (contents, tools) is shared, not copied, and not touched."""
    request = envelope["request"]
    system = request["systemInstruction"]
    parts = [
        {**part, "text": cloak_text(part["text"], words)}
        if isinstance(part, Mapping) and isinstance(part.get("text"), str)
        else part
        for part in system.get("parts") or []
    ]
    return {**envelope, "request": {**request, "systemInstruction": {**system, "parts": parts}}}
