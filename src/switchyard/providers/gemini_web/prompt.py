"""OpenAI chat messages → one Gemini web prompt plus files, and the digests that key conversations.

The web app keeps the transcript itself and takes only the new message per turn. So:

- A new conversation gets the whole history flattened into one prompt, in ChatML blocks
  (`<|im_start|>role … <|im_end|>`, ending with an open assistant block), which Gemini follows
  reliably; a lone user message without system text or tools is sent as it is.
- A follow-up that extends a conversation the gateway already holds sends only the messages after
  the known prefix, in the same rendering.
- Images and files of user messages become uploads; the text says where each one was attached.
  Images the gateway generated and returned inline (`![image](data:…)`) are not sent back as text.
- Tool calls and results use the protocol of `tools.py`; its instructions close the prompt.

`prefix_digests` hashes the messages cumulatively (each digest covers every message up to it), so a
request's longest known prefix is one indexed lookup of a handful of keys.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from switchyard.errors import InvalidRequest
from switchyard.providers.gemini_web.tools import ToolOffer, instructions, render_call, render_result
from switchyard.translate.b64 import standard_alphabet
from switchyard.translate.fields import wrong_type
from switchyard.translate.media import Media
from switchyard.translate.openai_parts import content_parts, text_parts

_DATA_IMAGE = re.compile(r"!\[[^\]\n]*\]\(data:[^)\s]+\)")
_EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "image/gif": "gif",
    "image/heic": "heic",
    "application/pdf": "pdf",
    "text/plain": "txt",
    "text/markdown": "md",
    "text/csv": "csv",
    "application/json": "json",
    "audio/mpeg": "mp3",
    "audio/wav": "wav",
    "video/mp4": "mp4",
}
ROLE_NAMES = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "assistant": "assistant",
    "tool": "tool",
}


@dataclass(frozen=True)
class WebFile:
    name: str
    mime: str
    data: bytes


@dataclass
class FlatPrompt:
    text: str
    files: list[WebFile] = field(default_factory=list)
    trimmed: int = 0
    """How many of the oldest messages were left out to stay under the request cap (`fit`)."""


TRIM_NOTE = "[{count} earlier messages of this conversation were left out to fit the request size limit]"


def fit(
    messages: Sequence[Any],
    *,
    offer: ToolOffer | None,
    media: Mapping[str, Media],
    cap_bytes: int,
    first_index: int = 0,
) -> FlatPrompt:
    """`flatten`, kept under `cap_bytes` UTF-8 bytes by leaving out the oldest history.

    The web app keeps only about 130 KB of a request and cuts the rest from the end, which is where
    the newest message sits (protocols/gemini-web.md §13.2), so an oversized prompt would silently
    lose the very question asked. The oldest non-system messages go first (a note says how many),
    then the system messages; the newest message is never cut: when it alone is over the cap the
    request is refused with a 400 that says so."""
    flat = flatten(messages, offer=offer, media=media, first_index=first_index)
    if _size(flat) <= cap_bytes:
        return flat
    system = [
        i
        for i, m in enumerate(messages[:-1])
        if isinstance(m, dict) and ROLE_NAMES.get(str(m.get("role"))) == "system"
    ]
    history = [i for i in range(len(messages) - 1) if i not in set(system)]
    order = history + system  # what may be left out, first to last

    def without(count: int) -> FlatPrompt:
        dropped = set(order[:count])
        kept = [m for i, m in enumerate(messages) if i not in dropped]
        note = [{"role": "system", "content": TRIM_NOTE.format(count=count)}] if count else []
        candidate = flatten(note + kept, offer=offer, media=media, first_index=first_index)
        candidate.trimmed = count
        return candidate

    low, high = 1, len(order)
    best: FlatPrompt | None = None
    while low <= high:  # the size shrinks as more is left out: binary search for the fewest
        middle = (low + high) // 2
        candidate = without(middle)
        if _size(candidate) <= cap_bytes:
            best, high = candidate, middle - 1
        else:
            low = middle + 1
    if best is None:
        newest = len(flatten(messages[-1:], offer=offer, media=media).text.encode())
        raise InvalidRequest(
            f"The newest message is too large for Gemini web: with the tool instructions it is {newest} "
            f"bytes, and one web turn carries at most {cap_bytes} (the web app cuts the rest from the end, "
            "so it would lose your message). Send long text as a file attachment, or shorten it.",
            param=f"messages[{first_index + len(messages) - 1}]",
            code="context_length_exceeded",
        )
    return best


def _size(flat: FlatPrompt) -> int:
    return len(flat.text.encode())


def flatten(
    messages: Sequence[Any],
    *,
    offer: ToolOffer | None,
    media: Mapping[str, Media],
    first_index: int = 0,
) -> FlatPrompt:
    """The prompt for `messages` (numbered from `first_index` in error messages)."""
    files: list[WebFile] = []
    call_names: dict[str, str] = {}
    blocks: list[tuple[str, str]] = []
    for offset, message in enumerate(messages):
        param = f"messages[{first_index + offset}]"
        if not isinstance(message, dict):
            raise InvalidRequest(f"'{param}' must be an object", param=param)
        role = ROLE_NAMES.get(str(message.get("role")))
        if role is None:
            raise InvalidRequest(
                f"Invalid value for '{param}.role': {message.get('role')!r}", param=f"{param}.role"
            )
        text = _message_text(message, role, param, media, files, call_names)
        if blocks and blocks[-1][0] == role:
            blocks[-1] = (role, blocks[-1][1] + "\n\n" + text)
        else:
            blocks.append((role, text))
    if not blocks or (not any(text.strip() for _, text in blocks) and not files):
        raise InvalidRequest("'messages' has no content to send", param="messages")
    if len(blocks) == 1 and blocks[0][0] == "user" and offer is None:
        return FlatPrompt(blocks[0][1], files)
    if offer is not None:
        if len(blocks) == 1 and blocks[0][0] in ("user", "tool"):
            return FlatPrompt(blocks[0][1] + "\n\n" + instructions(offer), files)
        blocks.append(("system", instructions(offer)))
    rendered = "\n".join(f"<|im_start|>{role}\n{text}\n<|im_end|>" for role, text in blocks)
    return FlatPrompt(rendered + "\n<|im_start|>assistant\n", files)


def _message_text(
    message: dict[str, Any],
    role: str,
    param: str,
    media: Mapping[str, Media],
    files: list[WebFile],
    call_names: dict[str, str],
) -> str:
    content = message.get("content")
    if role == "system":
        return "\n".join(p["text"] for p in text_parts(content, param=f"{param}.content"))
    if role == "tool":
        name = call_names.get(str(message.get("tool_call_id")), str(message.get("name") or "function"))
        return render_result(name, _plain_text(content, f"{param}.content"))
    if role == "assistant":
        pieces = [_DATA_IMAGE.sub("[image]", _plain_text(content, f"{param}.content"))] if content else []
        tool_calls = message.get("tool_calls") or []
        if not isinstance(tool_calls, list):
            raise wrong_type(f"{param}.tool_calls", "an array", tool_calls)
        for call in tool_calls:
            function = call.get("function") if isinstance(call, dict) else None
            if not isinstance(function, dict):
                continue
            name = str(function.get("name") or "")
            call_names[str(call.get("id"))] = name
            pieces.append(render_call(name, _arguments(function.get("arguments"))))
        return "\n".join(pieces)
    if content is None:
        raise InvalidRequest(f"'{param}.content' is required for a user message", param=f"{param}.content")
    pieces = []
    parts = content_parts(content, param=f"{param}.content", resolved_media=media)
    for index, part in enumerate(parts):
        if "text" in part:
            pieces.append(part["text"])
        elif "inlineData" in part:
            inline = part["inlineData"]
            name = f"file{len(files) + 1}.{_EXTENSIONS.get(inline['mimeType'], 'bin')}"
            files.append(
                WebFile(name, inline["mimeType"], _decoded(inline["data"], f"{param}.content[{index}]"))
            )
            pieces.append(f"[attached: {name}]")
    return "\n".join(pieces)


def _decoded(data_b64: str, param: str) -> bytes:
    try:
        return base64.b64decode(standard_alphabet(data_b64))
    except binascii.Error as error:
        raise InvalidRequest(f"Invalid base64 data in '{param}': {error}", param=param) from None


def _plain_text(content: Any, param: str) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "\n".join(p["text"] for p in text_parts(content, param=param))


def _arguments(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return orjson.loads(raw) if raw.strip() else {}
        except orjson.JSONDecodeError:
            return raw
    return raw if raw is not None else {}


# -- conversation keys ---------------------------------------------------------------------------


def canonical_message(message: Any) -> bytes:
    """What identifies a message for conversation reuse: role, visible content, tool calls.

    Ids of tool calls, reasoning and whitespace at the ends are left out: clients rewrite them.
    """
    if not isinstance(message, dict):
        return orjson.dumps(message)
    role = ROLE_NAMES.get(str(message.get("role")), str(message.get("role")))
    content = message.get("content")
    if isinstance(content, str) or content is None:
        shown: Any = (content or "").strip()
    else:
        shown = [_canonical_part(p) for p in content] if isinstance(content, list) else content
    raw_calls = message.get("tool_calls")
    calls = [
        [str(c["function"].get("name")), _arguments(c["function"].get("arguments"))]
        for c in (raw_calls if isinstance(raw_calls, list) else ())
        if isinstance(c, dict) and isinstance(c.get("function"), dict)
    ]
    return orjson.dumps([role, shown, calls], option=orjson.OPT_SORT_KEYS)


def _canonical_part(part: Any) -> Any:
    if isinstance(part, dict) and part.get("type") == "text":
        return str(part.get("text", "")).strip()
    return hashlib.sha256(orjson.dumps(part, option=orjson.OPT_SORT_KEYS)).hexdigest()


def prefix_digests(scope: str, messages: Sequence[Any]) -> list[str]:
    """`digests[i]` covers `scope` (client key and model) and messages[0..i]."""
    digests: list[str] = []
    running = hashlib.sha256(scope.encode()).hexdigest()
    for message in messages:
        running = hashlib.sha256((running + canonical_message(message).decode()).encode()).hexdigest()
        digests.append(running)
    return digests
