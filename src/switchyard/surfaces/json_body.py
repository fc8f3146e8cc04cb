"""Parsing request bodies that carry megabytes of base64 media, at about twice the body's size.

`orjson.loads` copies its whole input before parsing and then builds every string, so a 20 MB
body costs 20 MB (the buffer) + 20 MB (orjson's copy) + 20 MB (the parsed string) at its peak
(docs/benchmarks.md, scenario 4). Nearly all of such a body is one or a few base64 strings, which
need no JSON decoding at all. So before parsing a large body, every long string value made only
of base64 characters (optionally behind a `data:<type>;base64,` prefix, as OpenAI's data URLs are)
is cut out of the buffer into a `str` of its own and replaced by a short placeholder; the rest is
parsed and the strings are put back where their placeholders are. The result is exactly what
`orjson.loads` would have returned.

A run is only cut when it is certainly a whole string value: it lies between two quotes with no
other quote and no backslash inside (so neither quote is escaped), the opening quote follows a
`:` (so it opens a value rather than closing a key or a string ending in `:`), and every byte
is base64 (which no stretch of JSON outside a string can be). Anything else is left to orjson.

Bodies nested deeper than `MAX_DEPTH` objects and arrays are refused with a 400 naming the field:
every later step (the translators, `orjson.dumps` with its limit of 254 levels, the upstream)
would otherwise fail on them with a `RecursionError` or `TypeError` — a 500.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

import orjson

from switchyard.errors import InvalidRequest

LARGE_BODY_BYTES = 1024 * 1024
"""Smaller bodies are parsed as they are: the copies cost little, and the scan would not pay."""
LONG_STRING_BYTES = 64 * 1024
_STRIDE = LONG_STRING_BYTES // 2
"""Probing every `_STRIDE` bytes finds every run of at least `LONG_STRING_BYTES`."""
_BASE64_VALUE = re.compile(rb"(?:data:[\w.+-]+/[\w.+-]+;base64,)?[A-Za-z0-9+/=_-]*")
_WHITESPACE = b" \t\r\n"
MAX_DEPTH = 64
"""Levels of objects and arrays a body may nest: about 30 levels of a JSON schema inside a tool."""


def loads(raw: bytearray) -> Any:
    """`orjson.loads(raw)`, with long base64 strings cut out first when the body is large.

    `raw` is consumed (the cut strings are removed from it). Raises `orjson.JSONDecodeError`, or
    `InvalidRequest` for a body nested deeper than `MAX_DEPTH`.
    """
    # Fewer opening brackets than the limit cannot nest deeper than it: the usual case costs a count.
    may_be_deep = raw.count(b"{") + raw.count(b"[") > MAX_DEPTH
    large = len(raw) >= LARGE_BODY_BYTES
    carved = _carve(raw) if large else {}
    document = orjson.loads(raw)
    if large:
        del raw[:]
    if may_be_deep:
        check_depth(document)
    return _restore(document, carved) if carved else document


OPENAI_WORDING = (
    "We could not parse the JSON body of your request",
    "We could not parse the JSON body of your request: the body is empty.",
)
"""How OpenAI words an unparsable body (`<prefix>: <reason>.`) and an empty one (chat, Responses)."""


def load_object(raw: bytearray, wording: tuple[str, str] = OPENAI_WORDING) -> dict[str, Any]:
    """The body as a JSON object, or the 400 in the surface's `wording` (prefix, empty-body message).

    Consumes `raw`, as `loads` does."""
    prefix, empty = wording
    if raw.isspace() or not raw:
        raise InvalidRequest(empty)
    try:
        body = loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"{prefix}: {exc}.") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    return body


def check_depth(document: Any) -> None:
    """Raise `InvalidRequest` naming the first field nested deeper than `MAX_DEPTH` (no recursion)."""
    if not isinstance(document, dict | list):
        return
    pending: list[tuple[Any, tuple[str | int, ...]]] = [(document, ())]
    while pending:
        node, path = pending.pop()
        if len(path) >= MAX_DEPTH:
            field = _path_text(path[:4])
            raise InvalidRequest(
                f"Invalid value for '{field}': objects and arrays in it nest deeper than the "
                f"{MAX_DEPTH} levels a request may have.",
                param=field,
            )
        children = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in children:
            if isinstance(value, dict | list):
                pending.append((value, (*path, key)))


def _path_text(path: tuple[str | int, ...]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _carve(raw: bytearray) -> dict[str, str]:
    """Cut the long base64 string values out of `raw`, in place; placeholder → string."""
    carved: dict[str, str] = {}
    tag = secrets.token_hex(8)
    position = LONG_STRING_BYTES
    while position < len(raw):
        opening = raw.rfind(b'"', 0, position)
        closing = raw.find(b'"', position)
        if opening < 0 or closing < 0:
            break
        if closing - opening > LONG_STRING_BYTES and _is_base64_value(raw, opening, closing):
            placeholder = f"\x00{tag}-{len(carved)}"
            carved[placeholder] = str(memoryview(raw)[opening + 1 : closing], "ascii")
            raw[opening + 1 : closing] = orjson.dumps(placeholder)[1:-1]
            position = opening + LONG_STRING_BYTES
        else:
            position = max(position + _STRIDE, closing + 1)
    return carved


def _is_base64_value(raw: bytearray, opening: int, closing: int) -> bool:
    before = opening - 1
    while before >= 0 and raw[before] in _WHITESPACE:
        before -= 1
    if before < 0 or raw[before] != ord(":"):
        return False
    return _BASE64_VALUE.fullmatch(raw, opening + 1, closing) is not None


def _restore(node: Any, carved: dict[str, str]) -> Any:
    if isinstance(node, str):
        return carved.get(node, node)
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str | dict | list):
                node[key] = _restore(value, carved)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            if isinstance(value, str | dict | list):
                node[index] = _restore(value, carved)
    return node
