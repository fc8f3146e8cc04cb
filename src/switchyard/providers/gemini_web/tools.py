"""Tool calling on Gemini web, which has none: a prompt protocol, and its parser.

The web app takes one prompt and answers Markdown. To offer OpenAI `tools`, the prompt ends with a
section that lists each function (name, description, JSON Schema of its arguments) and asks the
model, when it wants a function, to answer with nothing but one fenced block per call:

    ```tool_call
    {"name": "get_weather", "arguments": {"city": "Paris"}}
    ```

Fenced blocks were chosen over XML-like tags because the web app's Markdown renderer leaves code
fences verbatim (tags may be escaped or swallowed as HTML), and over `[ToolCalls]` brackets because
a JSON object per call needs no bespoke escaping rules. The web renderer sometimes escapes `_`
(`tool\\_call`), which the parser accepts.

Earlier calls and their results are written back into the prompt in the same shape, so the model
sees its own protocol in the history:

    ```tool_call
    {"name": "get_weather", "arguments": {"city": "Paris"}}
    ```
    ```tool_result
    {"name": "get_weather", "content": "18 °C, clear"}
    ```

`ToolCallFilter` runs on the answer as it streams: text before the first fence goes out as it
arrives, anything that could be the start of a fence is held back until it is decided, and once a
`tool_call` fence has opened nothing more is shown; at the end the fences become OpenAI `tool_calls`
(ids `call_<24 hex>`). The markup never reaches the client. A block that is not valid JSON is a
malformed call, reported as an error (as Gemini's own `MALFORMED_FUNCTION_CALL`), never as text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from switchyard.errors import InvalidRequest, StreamInterrupted
from switchyard.ids import new_id

FENCE_MARKERS = ("```tool_call", "```tool\\_call")
_CALL_BLOCK = re.compile(r"```tool\\?_call[ \t]*\n?(.*?)```", re.DOTALL)


@dataclass(frozen=True)
class ToolOffer:
    """The functions offered for this turn and whether (which) one must be called."""

    functions: list[dict[str, Any]]
    required: str | None = None  # "any" or a function name

    @property
    def names(self) -> set[str]:
        return {f["name"] for f in self.functions}


def tool_offer(body: Mapping[str, Any]) -> ToolOffer | None:
    """The functions of an OpenAI chat body, or None when none are offered (or `tool_choice: none`)."""
    tools = body.get("tools")
    if not tools:
        return None
    if not isinstance(tools, list):
        raise InvalidRequest("'tools' must be an array of tool definitions", param="tools")
    functions: list[dict[str, Any]] = []
    for index, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise InvalidRequest(
                f'\'tools[{index}]\' must be {{"type": "function", "function": {{"name": ...}}}}',
                param=f"tools[{index}]",
            )
        functions.append(
            {
                "name": function["name"],
                "description": function.get("description") or "",
                "parameters": function.get("parameters") or {"type": "object", "properties": {}},
            }
        )
    choice = body.get("tool_choice")
    if choice == "none":
        return None
    required: str | None = None
    if choice == "required":
        required = "any"
    elif isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        required = str(choice["function"].get("name") or "") or None
    return ToolOffer(functions, required)


def instructions(offer: ToolOffer) -> str:
    """The protocol section appended to the prompt."""
    listing = "\n".join(orjson.dumps(f, option=orjson.OPT_SORT_KEYS).decode() for f in offer.functions)
    if offer.required == "any":
        rule = "You MUST call at least one function in this answer."
    elif offer.required:
        rule = f"You MUST call the function {offer.required} in this answer."
    else:
        rule = "Call a function only when it helps; otherwise answer normally."
    return (
        "## Functions you can call\n"
        "You have access to these functions (JSON Schema of their arguments):\n"
        f"{listing}\n"
        "To call functions, answer with nothing but one fenced code block per call, exactly:\n"
        "```tool_call\n"
        '{"name": "<function name>", "arguments": {<arguments as JSON>}}\n'
        "```\n"
        "Do not add any other text before or after the blocks. The results will come back in "
        f"```tool_result blocks. {rule}"
    )


def render_call(name: str, arguments: Any) -> str:
    payload = {"name": name, "arguments": arguments}
    return f"```tool_call\n{orjson.dumps(payload).decode()}\n```"


def render_result(name: str, content: str) -> str:
    return f"```tool_result\n{orjson.dumps({'name': name, 'content': content}).decode()}\n```"


@dataclass
class ToolCallFilter:
    """Hides the protocol markup from streamed text and collects the calls (module docstring)."""

    offer: ToolOffer
    _pending: str = ""
    _captured: list[str] = field(default_factory=list)
    _capturing: bool = False

    def feed(self, delta: str) -> str:
        """The part of `delta` (plus anything held back) that is certainly visible text."""
        if self._capturing:
            self._captured.append(delta)
            return ""
        text = self._pending + delta
        self._pending = ""
        start = min((i for i in (text.find(m) for m in FENCE_MARKERS) if i >= 0), default=-1)
        if start >= 0:
            self._capturing = True
            self._captured.append(text[start:])
            return text[:start]
        hold = _undecided_suffix(text)
        self._pending = text[len(text) - hold :] if hold else ""
        return text[: len(text) - hold]

    def finish(self) -> tuple[str, list[dict[str, Any]]]:
        """Text still held back, and the calls as canonical `functionCall` dicts."""
        if not self._capturing:
            tail, self._pending = self._pending, ""
            return tail, []
        captured = "".join(self._captured)
        calls = [self._call(match.group(1)) for match in _CALL_BLOCK.finditer(captured)]
        if not calls:
            raise StreamInterrupted(
                "Gemini web opened a tool call it never closed (malformed function call); retry",
                reason="MALFORMED_FUNCTION_CALL",
            )
        rest = _CALL_BLOCK.sub("", captured).strip()
        return ("\n\n" + rest if rest else ""), calls

    def _call(self, block: str) -> dict[str, Any]:
        try:
            payload = orjson.loads(block.strip().replace("\\_", "_"))
        except orjson.JSONDecodeError:
            payload = None
        if not isinstance(payload, dict) or not isinstance(payload.get("name"), str):
            raise StreamInterrupted(
                "Gemini web answered a tool call that is not valid JSON (malformed function call); retry",
                reason="MALFORMED_FUNCTION_CALL",
            )
        arguments = payload.get("arguments")
        if isinstance(arguments, str):
            try:
                arguments = orjson.loads(arguments)
            except orjson.JSONDecodeError:
                arguments = {"input": arguments}
        return {
            "name": payload["name"],
            "args": arguments if isinstance(arguments, dict) else {},
            "id": f"call_{new_id()[8:]}",
        }


def _undecided_suffix(text: str) -> int:
    """How many trailing characters could still grow into a fence marker."""
    longest = 0
    for marker in FENCE_MARKERS:
        for size in range(min(len(marker) - 1, len(text)), 0, -1):
            if marker.startswith(text[-size:]):
                longest = max(longest, size)
                break
    return longest
