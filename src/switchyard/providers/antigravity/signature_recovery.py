"""One retry on a thought-signature 400, with the anchors' recovery (§12.6, field-notes 2 and 3).

A replayed signature can be refused: it was issued for other content, by another model, or it was
corrupted on the way (an old gateway, a client that re-encoded it). The upstream says so only in
the message text ("Corrupted thought signature.", Claude's "Invalid `signature` in `thinking`
block" nested in `message`) — there is no structured reason to read, so the text is matched here.
The recovery, before any byte reached the client:
- Gemini: every signature in the history becomes the sentinel (sub2api PR#946);
- Claude: thinking blocks are dropped, never re-signed (CPA PR#570); `request_fit` then turns
  thinking off if a tool turn is left without its leading block (§12.4).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from switchyard.errors import UpstreamBadRequest, UpstreamError

SIGNATURE_ERROR_TEXTS = (
    "Corrupted thought signature",
    "Invalid `signature` in `thinking` block",
    "thinking.signature: Field required",
)
GEMINI_SENTINEL = "skip_thought_signature_validator"
_SIGNATURE_KEYS = ("thoughtSignature", "thought_signature")


def is_signature_error(error: UpstreamError) -> bool:
    return isinstance(error, UpstreamBadRequest) and any(
        text in error.message for text in SIGNATURE_ERROR_TEXTS
    )


def without_bad_signatures(request: Mapping[str, Any], *, claude: bool) -> dict[str, Any]:
    """A copy of `request` whose history carries no signature the upstream could refuse."""
    contents = []
    for content in request.get("contents") or ():
        if not isinstance(content, dict) or content.get("role") != "model":
            contents.append(content)
            continue
        parts = []
        for part in content.get("parts") or ():
            if not isinstance(part, dict) or not any(key in part for key in _SIGNATURE_KEYS):
                if not (claude and isinstance(part, dict) and part.get("thought") is True):
                    parts.append(part)
                continue
            if claude:
                if part.get("thought") is True:
                    continue  # the thinking block goes with its signature
                parts.append({key: value for key, value in part.items() if key not in _SIGNATURE_KEYS})
            else:
                cleaned = {key: value for key, value in part.items() if key not in _SIGNATURE_KEYS}
                parts.append({**cleaned, "thoughtSignature": GEMINI_SENTINEL})
        contents.append({**content, "parts": parts or [{"text": ""}]})
    return {**request, "contents": contents}
