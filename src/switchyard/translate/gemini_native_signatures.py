"""Thought signatures on the Gemini-native surface (issue 13, §8.4, §12.4).

Clients of the Gemini API mostly send model turns back whole, signatures included, but not all do:
some drop thought parts (the public API returns none unless asked), and a Claude tool turn must
start with its signed thinking block. So, as on the OpenAI route, the answers' signatures are
recorded in the `SignatureCache` (and with it the store), keyed by tool-call id, and put back where
a replayed turn lacks them:
- Claude: the last model turn holding a `functionCall` gets its remembered thinking block first;
- Gemini 3: a `functionCall` without a signature gets its own, else the sentinel.
The recorder only looks at answers of requests that declare tools (no call can be replayed
otherwise), so plain streams pay nothing for it.
"""

from __future__ import annotations

from typing import Any

from switchyard.translate.profile import Family
from switchyard.translate.signatures import SKIP_SIGNATURE, SignatureCache, SignedThought


def _call_of(part: Any) -> dict[str, Any] | None:
    if not isinstance(part, dict):
        return None
    call = part.get("functionCall") or part.get("function_call")
    return call if isinstance(call, dict) else None


def native_call_ids(request: dict[str, Any]) -> list[str]:
    """The ids of the replayed calls (what the cache may be asked for)."""
    ids = []
    for content in request.get("contents") or ():
        for part in content.get("parts") or () if isinstance(content, dict) else ():
            call = _call_of(part)
            if call is not None and isinstance(call.get("id"), str) and call["id"]:
                ids.append(call["id"])
    return ids


def replay_signatures(request: dict[str, Any], family: Family, cache: SignatureCache) -> dict[str, Any]:
    """`request` with the signatures its replayed turns lack put back; itself when none lack any."""
    contents = request.get("contents")
    if not isinstance(contents, list):
        return request
    if family == "claude":
        fixed = _claude_thinking_first(contents, cache)
    elif family == "gemini-3":
        fixed = _gemini_call_signatures(contents, cache)
    else:
        return request
    return request if fixed is contents else {**request, "contents": fixed}


def _claude_thinking_first(contents: list[Any], cache: SignatureCache) -> list[Any]:
    for index in range(len(contents) - 1, -1, -1):
        content = contents[index]
        if not isinstance(content, dict) or content.get("role") != "model":
            continue
        parts = content.get("parts") or []
        calls = [call for call in map(_call_of, parts) if call is not None]
        if not calls:
            continue
        if parts and isinstance(parts[0], dict) and parts[0].get("thought") is True:
            return contents
        for call in calls:
            known = cache.tool_call(str(call.get("id") or ""), "claude")
            if known is not None and known.thinking is not None:
                thought = {"text": known.thinking, "thought": True, "thoughtSignature": known.signature}
                fixed = list(contents)
                fixed[index] = {**content, "parts": [thought, *parts]}
                return fixed
        return contents
    return contents


def _gemini_call_signatures(contents: list[Any], cache: SignatureCache) -> list[Any]:
    result: list[Any] | None = None
    for index, content in enumerate(contents):
        if not isinstance(content, dict) or content.get("role") != "model":
            continue
        parts = content.get("parts") or []
        new_parts: list[Any] | None = None
        for position, part in enumerate(parts):
            call = _call_of(part)
            if call is None or part.get("thoughtSignature") or part.get("thought_signature"):
                continue
            known = cache.tool_call(str(call.get("id") or ""), "gemini-3")
            if new_parts is None:
                new_parts = list(parts)
            new_parts[position] = {**part, "thoughtSignature": known.signature if known else SKIP_SIGNATURE}
        if new_parts is not None:
            if result is None:
                result = list(contents)
            result[index] = {**content, "parts": new_parts}
    return contents if result is None else result


class NativeSignatureRecorder:
    """Collects an answer's thinking, signatures and calls; `finish()` records them in the cache."""

    def __init__(self, family: Family, cache: SignatureCache) -> None:
        self.family, self.cache = family, cache
        self.thinking: list[str] = []
        self.signature: str | None = None
        self.calls: list[tuple[str, str | None]] = []

    def feed(self, event: dict[str, Any]) -> None:
        for candidate in event.get("candidates") or ():
            content = candidate.get("content") if isinstance(candidate, dict) else None
            for part in (content.get("parts") or ()) if isinstance(content, dict) else ():
                if not isinstance(part, dict):
                    continue
                signature = part.get("thoughtSignature")
                call = _call_of(part)
                if call is not None:
                    self.calls.append((str(call.get("id") or ""), signature))
                elif part.get("thought") is True:
                    text = part.get("text")
                    if isinstance(text, str):
                        self.thinking.append(text)
                    if signature:
                        self.signature = signature

    def finish(self) -> None:
        if self.family == "claude":
            if self.signature is None:
                return
            thinking = "".join(self.thinking)
            thought = SignedThought("claude", self.signature, thinking)
            self.cache.remember_thinking(thinking, thought)
            for call_id, _ in self.calls:
                if call_id:
                    self.cache.remember_tool_call(call_id, thought)
            return
        for call_id, signature in self.calls:
            if call_id and signature:
                self.cache.remember_tool_call(call_id, SignedThought(self.family, signature))
