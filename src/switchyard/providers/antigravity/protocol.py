"""The `v1internal` wire format: the envelope around a Gemini request, and the request headers.

Antigravity *is* Gemini in an envelope (protocols §4): the canonical `GenerateContentRequest` goes
in `request`, next to the Cloud project, the upstream model id and a few identifying fields the IDE
sends. Everything here is pure so the exact bytes the upstream sees can be tested without a network.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from typing import Any

from switchyard.config import Settings
from switchyard.ids import new_uuid

INT63_MASK = 0x7FFF_FFFF_FFFF_FFFF
ENVELOPE_USER_AGENT = "antigravity"
"""The envelope's `userAgent` field is this literal, not the HTTP User-Agent (§4)."""

STREAM_PATH = "/v1internal:streamGenerateContent?alt=sse"
GENERATE_PATH = "/v1internal:generateContent"
COUNT_TOKENS_PATH = "/v1internal:countTokens"
FETCH_MODELS_PATH = "/v1internal:fetchAvailableModels"
LOAD_CODE_ASSIST_PATH = "/v1internal:loadCodeAssist"
ONBOARD_USER_PATH = "/v1internal:onboardUser"

_DROPPED_REQUEST_KEYS = ("safetySettings", "safety_settings", "model")
"""The CLI never sends safety settings (CPA, ACA, GCA-H delete them); `model` lives in the envelope."""


def first_user_text(request: Mapping[str, Any]) -> str | None:
    """The first non-empty `parts[0].text` of a user turn: what identifies a conversation."""
    for content in request.get("contents") or []:
        if not isinstance(content, Mapping) or content.get("role", "user") != "user":
            continue
        parts = content.get("parts") or []
        text = parts[0].get("text") if parts and isinstance(parts[0], Mapping) else None
        if isinstance(text, str) and text:
            return text
    return None


def stable_session_id(request: Mapping[str, Any]) -> str:
    """`-<int63>` from SHA-256 of the first user text, so every turn of a conversation shares it.

    Same derivation as CPA-H `generateStableSessionID` (first 8 bytes big-endian, sign bit cleared);
    the upstream scopes prompt caching to the session. Without user text, a random id.
    """
    text = first_user_text(request)
    if text is None:
        return f"-{secrets.randbits(63)}"
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"-{int.from_bytes(digest[:8], 'big') & INT63_MASK}"


def new_request_id(request_type: str) -> str:
    """A fresh `requestId` in the style CPA sends (`agent-<uuid>`); the upstream accepts any string."""
    return f"{request_type}-{new_uuid()}"


def build_envelope(
    *,
    project: str,
    upstream_model: str,
    request: Mapping[str, Any],
    request_type: str = "agent",
    session_id: str | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """The body of a generate or stream call.

    `request` is copied one level deep only: the caller's dict is left untouched and the (possibly
    huge) `contents` list is shared, not copied. A `sessionId` the caller put in the request wins
    over `session_id`, which wins over the derived stable id.
    """
    inner = {key: value for key, value in request.items() if key not in _DROPPED_REQUEST_KEYS}
    if "session_id" in inner:  # GCA-D's snake_case spelling; send one spelling only
        inner.setdefault("sessionId", inner.pop("session_id"))
    if not inner.get("sessionId"):
        inner["sessionId"] = session_id or stable_session_id(request)
    return {
        "project": project,
        "requestId": request_id or new_request_id(request_type),
        "model": upstream_model,
        "userAgent": ENVELOPE_USER_AGENT,
        "requestType": request_type,
        "request": inner,
    }


def count_tokens_body(request: Mapping[str, Any]) -> dict[str, Any]:
    """`{"request": {...}}` for `:countTokens`: no project, model or safety settings (CPA-H §1).

    The upstream's CountTokens request has no model field (a `model` key is an unknown name there).
    """
    return {"request": {key: value for key, value in request.items() if key not in _DROPPED_REQUEST_KEYS}}


def unwrap_response(payload: Any) -> dict[str, Any] | None:
    """The inner `GenerateContentResponse` of one reply or stream event, or None if it has none."""
    if isinstance(payload, dict):
        inner = payload.get("response")
        if isinstance(inner, dict):
            return inner
    return None


def user_agent_for(settings: Settings, account_user_agent: str | None) -> str:
    """The account's own User-Agent when it has one (§12.3: CPA's per-credential `user_agent`)."""
    return account_user_agent or settings.antigravity_user_agent


def request_headers(
    settings: Settings, access_token: str, *, stream: bool = False, user_agent: str | None = None
) -> dict[str, str]:
    """Headers of every `v1internal` call (§2): the IDE's User-Agent (the account's, if it has one),
    bearer token, JSON body."""
    return {
        "Authorization": f"Bearer {access_token}",
        "Content-Type": "application/json",
        "User-Agent": user_agent_for(settings, user_agent),
        "Accept": "text/event-stream" if stream else "application/json",
        "Accept-Encoding": "gzip",
    }


def onboard_headers(settings: Settings, access_token: str, user_agent: str | None = None) -> dict[str, str]:
    """`onboardUser` comes from the IDE's Node client, which says so (CPA-H `auth.go`)."""
    headers = request_headers(settings, access_token)
    headers["User-Agent"] = f"{user_agent_for(settings, user_agent)} google-api-nodejs-client/10.3.0"
    headers["X-Goog-Api-Client"] = "gl-node/22.21.1"
    return headers
