"""The `encrypted_content` of our Responses `reasoning` items: thought signatures a client carries.

Why: a `store: false` client (Codex by default) keeps no state on the server, yet Gemini 3 refuses a
replayed function call without the signature it issued, and Claude a thinking block without its
signature and exact text (field-notes 2, 3). OpenAI's answer is an opaque blob the client sends back;
ours holds the issuing family, the turn's thinking signature with its text (Claude only: Gemini does
not need its thoughts back), and the signatures of the turn's tool calls.

The blob is versioned URL-safe base64 JSON, not encrypted: it holds nothing secret (signatures are
the upstream's own tamper-proof tokens, the thinking text the client was shown as a summary), and
a client that edits it only gets the upstream's signature refusal.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any, cast, get_args

import orjson

from switchyard.errors import InvalidRequest
from switchyard.translate.profile import Family

PREFIX = "sy1."
_FAMILIES = frozenset(get_args(Family))


@dataclass(frozen=True, slots=True)
class ReasoningReplay:
    """What one reasoning item lets us send back upstream."""

    family: Family
    signature: str | None = None
    thinking: str | None = None
    calls: dict[str, str] = field(default_factory=dict)


def encode_reasoning(replay: ReasoningReplay) -> str:
    payload: dict[str, Any] = {"f": replay.family}
    if replay.signature:
        payload["s"] = replay.signature
    if replay.thinking is not None and replay.family == "claude":
        payload["t"] = replay.thinking
    if replay.calls:
        payload["c"] = replay.calls
    return PREFIX + base64.urlsafe_b64encode(orjson.dumps(payload)).decode("ascii").rstrip("=")


def decode_reasoning(blob: str, *, param: str) -> ReasoningReplay:
    """The replay a blob made by `encode_reasoning` holds; a 400 naming `param` for anything else."""
    if not blob.startswith(PREFIX):
        raise InvalidRequest(
            f"'{param}' was not issued by this gateway (reasoning from another provider cannot be replayed)",
            param=param,
        )
    encoded = blob[len(PREFIX) :]
    try:
        payload = orjson.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        payload = None
    family = payload.get("f") if isinstance(payload, dict) else None
    if not isinstance(payload, dict) or family not in _FAMILIES:
        raise InvalidRequest(f"'{param}' is corrupted", param=param)
    signature, thinking, calls = payload.get("s"), payload.get("t"), payload.get("c") or {}
    if (
        not isinstance(signature, str | None)
        or not isinstance(thinking, str | None)
        or not isinstance(calls, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in calls.items())
    ):
        raise InvalidRequest(f"'{param}' is corrupted", param=param)
    return ReasoningReplay(cast(Family, family), signature, thinking, calls)
