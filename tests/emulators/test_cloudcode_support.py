"""Helpers shared by the Cloud Code emulator tests (no tests here).

It lives in a `test_cloudcode_*` module rather than a conftest so the Cloud Code tests stay
self-contained in the emulator's own files; each test module builds its own server fixture.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx

from switchyard.emulators.tokens import issue_access_token

ACCOUNT = "antigravity-1"
OTHER_ACCOUNT = "antigravity-2"
TOKEN_LIFETIME_S = 3600
SENTINEL = "skip_thought_signature_validator"
USER_AGENT = "antigravity/hub/2.11.3 darwin/arm64"
"""A Hub client recent enough for every model (3.8 Flash needs 2.11.0)."""


def token_for(account: str, lifetime_s: float = TOKEN_LIFETIME_S) -> str:
    return issue_access_token(account, f"{account}@example.com", lifetime_s)


class CloudCode:
    """An httpx client for one served emulator, speaking as a given account."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30)
        self._projects: dict[str, Any] = {}

    def close(self) -> None:
        self.http.close()

    def call(self, method: str, body: Any, *, account: str = ACCOUNT, **kwargs: Any) -> httpx.Response:
        headers = {
            "Authorization": f"Bearer {token_for(account)}",
            "User-Agent": USER_AGENT,
            **kwargs.pop("headers", {}),
        }
        suffix = "?alt=sse" if method == "streamGenerateContent" else ""
        return self.http.post(f"/v1internal:{method}{suffix}", json=body, headers=headers, **kwargs)

    def project(self, account: str = ACCOUNT) -> str:
        """The project loadCodeAssist reports (string style, the default)."""
        reply = self.call("loadCodeAssist", {"metadata": {"ideType": "ANTIGRAVITY"}}, account=account).json()
        project = reply["cloudaicompanionProject"]
        return project if isinstance(project, str) else project["id"]

    def envelope(self, model: str, request: dict[str, Any], *, account: str = ACCOUNT) -> dict[str, Any]:
        return {
            "project": self.project(account),
            "requestId": "agent-test",
            "model": model,
            "userAgent": "antigravity",
            "requestType": "agent",
            "request": request,
        }

    def generate(
        self, model: str, request: dict[str, Any], *, account: str = ACCOUNT, stream: bool = False
    ) -> httpx.Response:
        method = "streamGenerateContent" if stream else "generateContent"
        return self.call(method, self.envelope(model, request, account=account), account=account)

    def control(self, path: str, body: Any = None) -> Any:
        response = (
            self.http.post(f"/_control/{path}", json=body)
            if body is not None
            else self.http.get(f"/_control/{path}")
        )
        assert response.status_code == 200, response.text
        return response.json()

    def fault(self, fault: str, **spec: Any) -> None:
        self.control("faults", {"fault": fault, **spec})


def served(base_url: str) -> Iterator[CloudCode]:
    """A reset client for one test."""
    client = CloudCode(base_url)
    client.control("reset", {})
    try:
        yield client
    finally:
        client.close()


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "parts": [{"text": text}]}


def ask(text: str, **extra: Any) -> dict[str, Any]:
    return {"contents": [user(text)], **extra}


def sse_events(raw: str) -> list[dict[str, Any]]:
    """Parse an SSE body strictly: `data: <json>` lines separated by blank lines, nothing else."""
    events = []
    for block in raw.split("\n\n"):
        if not block:
            continue
        assert block.startswith("data: "), block[:80]
        assert "\n" not in block, "one data line per event"
        events.append(json.loads(block[len("data: ") :]))
    return events


def parts_of(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [part for c in payload["response"].get("candidates", []) for part in c["content"]["parts"]]


def error_of(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    return body


def weather_tool(**schema_extra: Any) -> list[dict[str, Any]]:
    parameters = {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer"},
            "note": {"type": "string"},
        },
        "required": ["city", "unit", "days"],
        **schema_extra,
    }
    return [
        {
            "functionDeclarations": [
                {"name": "get_weather", "description": "Weather", "parameters": parameters}
            ]
        }
    ]
