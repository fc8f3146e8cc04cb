"""The requests each benchmark target receives: the same question, in each target's dialect.

- `direct` and `floor`: the `v1internal` envelope, exactly as the gateway sends it upstream, with an
  access token (the floor forwards it unchanged; the emulator answers it).
- `gemini`: the Gemini-native surface (`/antigravity/v1beta/models/{model}:generateContent`).
- `openai`: the OpenAI surface (`/antigravity/v1/chat/completions`).
"""

from __future__ import annotations

import base64
import os
import uuid
from dataclasses import dataclass
from typing import Any

import orjson

MODEL = "gemini-2.5-flash"
PROMPT = "Say hello in one short sentence."
TARGETS = ("direct", "floor", "gemini", "openai")


@dataclass(frozen=True)
class Target:
    """Where a request goes (a port) and who receives it there."""

    name: str
    port: int


@dataclass(frozen=True)
class Credentials:
    client_key: str
    access_token: str
    project: str


def request_spec(
    target: str, creds: Credentials, *, stream: bool, image_b64: str | None = None
) -> dict[str, Any]:
    """`path`, `headers` and `body` (text) for the load generator."""
    parts: list[dict[str, Any]] = [{"text": PROMPT}]
    if target in ("direct", "floor"):
        if image_b64 is not None:
            parts.append({"inlineData": {"mimeType": "image/png", "data": image_b64}})
        envelope = {
            "project": creds.project,
            "requestId": f"agent-{uuid.uuid4()}",
            "model": MODEL,
            "userAgent": "antigravity",
            "requestType": "agent",
            "request": {"contents": [{"role": "user", "parts": parts}], "sessionId": "-1"},
        }
        path = "/v1internal:streamGenerateContent?alt=sse" if stream else "/v1internal:generateContent"
        headers = {
            "Authorization": f"Bearer {creds.access_token}",
            "Content-Type": "application/json",
            "User-Agent": "antigravity/hub/2.9.1 darwin/arm64",
        }
        return {"path": path, "headers": headers, "body": orjson.dumps(envelope).decode()}
    if target == "gemini":
        if image_b64 is not None:
            parts.append({"inlineData": {"mimeType": "image/png", "data": image_b64}})
        method = "streamGenerateContent?alt=sse" if stream else "generateContent"
        body = {"contents": [{"role": "user", "parts": parts}]}
        return {
            "path": f"/antigravity/v1beta/models/{MODEL}:{method}",
            "headers": {"x-goog-api-key": creds.client_key, "Content-Type": "application/json"},
            "body": orjson.dumps(body).decode(),
        }
    if target == "openai":
        content: Any = PROMPT
        if image_b64 is not None:
            content = [
                {"type": "text", "text": PROMPT},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{image_b64}"}},
            ]
        chat: dict[str, Any] = {"model": MODEL, "messages": [{"role": "user", "content": content}]}
        if stream:
            chat["stream"] = True
        return {
            "path": "/antigravity/v1/chat/completions",
            "headers": {"Authorization": f"Bearer {creds.client_key}", "Content-Type": "application/json"},
            "body": orjson.dumps(chat).decode(),
        }
    raise ValueError(f"unknown target {target!r}")


def png_base64(size_bytes: int) -> str:
    """Base64 text of `size_bytes` characters that decodes to a (fake, incompressible) PNG."""
    raw_len = size_bytes // 4 * 3
    raw = b"\x89PNG\r\n\x1a\n" + os.urandom(raw_len - 8)
    return base64.b64encode(raw).decode()
