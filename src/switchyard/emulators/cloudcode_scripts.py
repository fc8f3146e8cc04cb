"""Scripted replies (api-contract.md, "Emulator control API"): `POST /_control/script`.

    {"match": {"account": "antigravity-1", "model": "claude-sonnet-4-6"},
     "replies": [{"function_call": {"name": "get_weather", "args": {"city": "Paris"}}}, {"text": "Sunny."}]}

The next matching generation requests are answered with these replies in order, one per request,
framed as the model asked would answer (ids, signatures, thoughts). A request must still pass every
check first, so a scripted reply never hides a 400 or a 429.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Script:
    account: str | None
    model: str | None
    replies: deque[dict[str, Any]]

    def matches(self, account: str, model: str) -> bool:
        return self.account in (None, account) and self.model in (None, model)

    def public(self) -> dict[str, Any]:
        match = {k: v for k, v in (("account", self.account), ("model", self.model)) if v is not None}
        return {"match": match, "replies": list(self.replies)}


def _checked_reply(reply: Any) -> dict[str, Any]:
    if isinstance(reply, dict) and isinstance(reply.get("text"), str):
        return {"text": reply["text"]}
    call = reply.get("function_call") if isinstance(reply, dict) else None
    if (
        isinstance(call, dict)
        and isinstance(call.get("name"), str)
        and isinstance(call.get("args", {}), dict)
    ):
        return {"function_call": {"name": call["name"], "args": call.get("args", {})}}
    raise ValueError('each reply must be {"text": str} or {"function_call": {"name": str, "args": {...}}}')


@dataclass
class Scripts:
    queued: list[Script] = field(default_factory=list)

    def add(self, spec: dict[str, Any]) -> Script:
        match = spec.get("match") or {}
        replies = spec.get("replies")
        if not isinstance(match, dict) or not isinstance(replies, list) or not replies:
            raise ValueError("the body needs an optional `match` object and a non-empty `replies` list")
        script = Script(match.get("account"), match.get("model"), deque(_checked_reply(r) for r in replies))
        self.queued.append(script)
        return script

    def take(self, account: str, model: str) -> dict[str, Any] | None:
        """The next reply of the first script that matches, consumed."""
        for script in self.queued:
            if script.matches(account, model):
                reply = script.replies.popleft()
                if not script.replies:
                    self.queued.remove(script)
                return reply
        return None

    def public(self) -> list[dict[str, Any]]:
        return [script.public() for script in self.queued]

    def reset(self) -> None:
        self.queued.clear()
