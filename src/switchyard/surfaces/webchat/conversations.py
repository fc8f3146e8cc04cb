"""Continuing Gemini web conversations instead of resending the history.

After each answer the gateway records the digest of (client key, web model, every message, the
answer as the client received it) → (account, chat metadata). A later request whose messages
start with such a prefix continues that web conversation on the same account with only the new
messages. The key and the model are part of the digest, so one client never continues another's
conversation, and a model switch (which the web app refuses with 1050) starts a new one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from switchyard.providers.gemini_web.prompt import prefix_digests
from switchyard.runtime import Runtime
from switchyard.store import web_conversations
from switchyard.store.web_conversations import KnownConversation


def scope_of(key_id: int | None, web_model: str) -> str:
    return f"{key_id}:{web_model}"


def session_of(scope: str, messages: Sequence[Any]) -> str:
    """The pool's sticky-session key: the same for every turn of a conversation (its first message),
    so the pool keeps the turns on the account that holds the web conversation while it is healthy."""
    return "gemini_web:" + prefix_digests(scope, messages[:1])[0]


async def find(runtime: Runtime, scope: str, messages: Sequence[Any]) -> KnownConversation | None:
    """The known conversation this request extends (at least one new message must remain)."""
    if len(messages) < 2:
        return None
    digests = prefix_digests(scope, messages)[:-1]
    return await web_conversations.find_longest(runtime.require_store(), digests)


async def remember(
    runtime: Runtime,
    scope: str,
    messages: Sequence[Any],
    answer: dict[str, Any],
    *,
    account: str | None,
    web_model: str,
    metadata: list[Any] | None,
) -> None:
    """Record the conversation so the client's next request can continue it."""
    if not account or not metadata or not metadata[0]:
        return
    digest = prefix_digests(scope, [*messages, answer])[-1]
    settings = runtime.settings
    await web_conversations.remember(
        runtime.require_store(),
        digest,
        account=account,
        model=web_model,
        metadata=metadata,
        ttl_s=settings.gemini_web_conversation_ttl_s,
        max_rows=settings.gemini_web_conversation_max,
    )


@dataclass
class AnswerRecorder:
    """The assistant message as the client receives it (what it will send back next time)."""

    texts: list[str] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    metadata: list[Any] | None = None

    def feed(self, event: dict[str, Any]) -> None:
        conversation = event.get("webConversation")
        if isinstance(conversation, dict):
            self.metadata = conversation.get("metadata")
        for candidate in event.get("candidates") or ():
            for part in (candidate.get("content") or {}).get("parts") or ():
                if part.get("thought"):
                    continue
                if "functionCall" in part:
                    call = part["functionCall"]
                    arguments = orjson.dumps(call.get("args") or {}).decode()
                    self.calls.append(
                        {"type": "function", "function": {"name": call["name"], "arguments": arguments}}
                    )
                elif part.get("text"):
                    self.texts.append(part["text"])
                elif (inline := part.get("inlineData")) is not None:
                    url = f"data:{inline['mimeType']};base64,{inline['data']}"
                    is_image = inline["mimeType"].startswith("image/")
                    self.texts.append(
                        f"![image]({url})" if is_image else f"[{inline['mimeType']} file]({url})"
                    )

    def feed_all(self, events: Iterable[dict[str, Any]]) -> None:
        for event in events:
            self.feed(event)

    def message(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self.texts)}
        if self.calls:
            message["tool_calls"] = self.calls
        return message
