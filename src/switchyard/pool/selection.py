"""Selection strategies: the order in which the ready accounts are offered a request.

Pure functions over a snapshot (`Candidate`s), so they are tested without a store or a clock.
The pool takes the first account of the ranking whose concurrency slot it can get; an account at
its cap is skipped, never waited on, so a slow account cannot hold up requests a free one could
serve.

- `round-robin`: each account in turn (the rotation counter is per (provider, family)).
- `least-used`: fewest requests running now, then fewest upstream requests in the rate window.
- `quota-aware` (default): the most remaining quota for the family (from `fetchAvailableModels`,
  persisted in `account_model_state`), in bands of `QUOTA_BAND`, so accounts with about the same
  quota share the load instead of one taking every request until the next quota refresh; inside a
  band, least-used. The top band is closed at both ends ([0.9, 1.0]): a fresh account at exactly
  100 % (or one never read) shares it with one at 95 %, rather than being alone at the top and
  taking every request until its first use is seen by a quota refresh.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Strategy = Literal["round-robin", "least-used", "quota-aware"]
STRATEGIES: tuple[Strategy, ...] = ("round-robin", "least-used", "quota-aware")
QUOTA_BAND = 0.1
UNKNOWN_QUOTA = 1.0
"""An account whose quota was never read is assumed full: it has not been seen to spend any."""


@dataclass(frozen=True)
class Candidate:
    """One ready account as a strategy sees it."""

    account_id: int
    in_flight: int = 0
    recent_uses: int = 0
    quota_remaining: float | None = None


def rank(strategy: Strategy, candidates: Sequence[Candidate], turn: int) -> list[int]:
    """Account ids, best first. `turn` rotates ties, so equal accounts take turns."""
    if not candidates:
        return []
    shift = turn % len(candidates)
    rotated = [*candidates[shift:], *candidates[:shift]]
    if strategy == "round-robin":
        return [c.account_id for c in rotated]
    if strategy == "least-used":
        return [c.account_id for c in sorted(rotated, key=_usage)]
    return [c.account_id for c in sorted(rotated, key=lambda c: (-_quota_band(c), *_usage(c)))]


def _usage(candidate: Candidate) -> tuple[int, int]:
    return candidate.in_flight, candidate.recent_uses


def _quota_band(candidate: Candidate) -> float:
    quota = UNKNOWN_QUOTA if candidate.quota_remaining is None else candidate.quota_remaining
    band = math.floor(max(0.0, min(1.0, quota)) / QUOTA_BAND + 1e-9)
    return min(band, _TOP_BAND)


_TOP_BAND = round(1 / QUOTA_BAND) - 1


def prefer_sticky(ranking: list[int], sticky: int | None) -> list[int]:
    """Put the conversation's account first while it is ready (keeps the upstream's prompt cache warm)."""
    if sticky is None or sticky not in ranking:
        return ranking
    return [sticky, *(account_id for account_id in ranking if account_id != sticky)]


def session_key(request: Mapping[str, Any], key_id: int | None, explicit: str | None = None) -> str | None:
    """The stickiness key of a conversation: an explicit session id, else a hash of the client key
    and the first user message (the same for every turn of one conversation), else None."""
    if explicit:
        return hashlib.sha256(f"{key_id}|id|{explicit}".encode()).hexdigest()[:32]
    first = _first_user_text(request)
    if first is None:
        return None
    return hashlib.sha256(f"{key_id}|msg|{first}".encode()).hexdigest()[:32]


def _first_user_text(request: Mapping[str, Any]) -> str | None:
    """The first user turn, in Gemini `contents` or OpenAI `messages` form."""
    for turn in request.get("contents") or request.get("messages") or []:
        if not isinstance(turn, Mapping) or turn.get("role") not in {"user", None}:
            continue
        if "parts" in turn:
            texts = [str(p.get("text", "")) for p in turn["parts"] or [] if isinstance(p, Mapping)]
            return "\n".join(texts)
        content = turn.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return None
