"""One usage event, and its line in the spool file and the Redis stream (JSON)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import orjson

from switchyard.ids import new_id


@dataclass(slots=True)
class UsageRecord:
    """One client request that presented a valid key. Holds no secret: names, ids, counts."""

    created_at: float
    request_id: str
    key_id: int | None
    key_name: str | None
    surface: str
    provider: str
    model: str | None
    account: str | None
    status: int
    error_class: str | None
    stream: bool
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    latency_ms: float
    ttfb_ms: float | None
    event_id: str = field(default_factory=new_id)
    """Ours, unique: the store writes an event delivered twice (spool replay, Redis claim) once."""


FIELDS = tuple(f.name for f in fields(UsageRecord))


def to_line(record: UsageRecord) -> bytes:
    """The event as one JSON line. A count too large for orjson (a client's absurd number) still
    serializes: the store then refuses that one row, as it would have without the spool."""
    try:
        return orjson.dumps(record) + b"\n"
    except orjson.JSONEncodeError:
        return json.dumps(asdict(record)).encode() + b"\n"


def from_line(line: bytes) -> UsageRecord | None:
    """The event of a line; None for a line that is not one (torn by a power cut, or foreign)."""
    try:
        data: Any = orjson.loads(line)
    except orjson.JSONDecodeError:
        try:
            data = json.loads(line)
        except ValueError:
            return None
    if not isinstance(data, dict):
        return None
    try:
        return UsageRecord(**{name: data[name] for name in FIELDS if name in data})
    except TypeError:
        return None
