"""Gemini-native answers as Google's public API gives them (issue 13).

Two things clients rely on that Cloud Code does not always give:
- `finishReason` is one of Google's values. Claude behind Cloud Code ends a tool turn with `OTHER`
  (and may leak Anthropic's stop reasons), where Google's API says `STOP`; the Vercel AI SDK stops
  its agent loop on `OTHER` without running the tool.
- the last stream event carries both the finish reason and the usage. Some streams send usage in
  an event of its own after the finish; SDKs take the last chunk as final and then find no finish
  reason (LangChain: "Gemini produced an empty response"). `NativeStream` holds the finishing event
  back until the next event shows whether a usage-only event follows, and merges it.

Per-chunk cost: one look at `candidates` per event; nothing is re-serialised or copied (events are
fixed in place: they are the gateway's own freshly parsed dicts).
"""

from __future__ import annotations

from typing import Any

from switchyard.translate.gemini_native_signatures import NativeSignatureRecorder

GOOGLE_FINISH_REASONS = frozenset(
    {
        "FINISH_REASON_UNSPECIFIED",
        "STOP",
        "MAX_TOKENS",
        "SAFETY",
        "RECITATION",
        "LANGUAGE",
        "OTHER",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "MALFORMED_FUNCTION_CALL",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_OTHER",
        "IMAGE_RECITATION",
        "NO_IMAGE",
        "UNEXPECTED_TOOL_CALL",
        "TOO_MANY_TOOL_CALLS",
        "MISSING_THOUGHT_SIGNATURE",
        "MALFORMED_RESPONSE",
    }
)
_ANTHROPIC_STOP_REASONS = {
    "end_turn": "STOP",
    "tool_use": "STOP",
    "stop_sequence": "STOP",
    "pause_turn": "STOP",
    "max_tokens": "MAX_TOKENS",
    "model_context_window_exceeded": "MAX_TOKENS",
    "refusal": "SAFETY",
}

Event = dict[str, Any]


def google_finish_reason(reason: str, *, claude: bool) -> str:
    """The value Google's API would give for an upstream finish reason."""
    if reason == "OTHER" and claude:
        return "STOP"  # Claude's tool_use (and end_turn) come through Cloud Code as OTHER
    if reason in GOOGLE_FINISH_REASONS:
        return reason
    return _ANTHROPIC_STOP_REASONS.get(reason.lower(), "OTHER")


def normalize_finish(event: Event, *, claude: bool) -> bool:
    """Fix the event's finish reasons in place; whether it carries one."""
    candidates = event.get("candidates")
    if type(candidates) is not list:
        return False
    found = False
    for candidate in candidates:
        reason = candidate.get("finishReason") if type(candidate) is dict else None
        if not isinstance(reason, str):
            continue
        found = True
        if reason != "OTHER" and reason in GOOGLE_FINISH_REASONS:
            continue
        candidate["finishReason"] = google_finish_reason(reason, claude=claude)
    return found


def strip_thoughts(event: Event) -> bool:
    """Remove thought parts in place; False when nothing is left worth sending."""
    candidates = event.get("candidates")
    if type(candidates) is not list:
        return True
    keep = "usageMetadata" in event
    for candidate in candidates:
        content = candidate.get("content") if type(candidate) is dict else None
        parts = content.get("parts") if type(content) is dict else None
        if type(parts) is list:
            content["parts"] = [p for p in parts if not (type(p) is dict and p.get("thought") is True)]  # type: ignore[index]
            keep = keep or bool(content["parts"])  # type: ignore[index]
        keep = keep or bool(candidate.get("finishReason")) if type(candidate) is dict else keep
    return keep


def _usage_only(event: Event) -> bool:
    return not event.get("candidates") and "usageMetadata" in event


class NativeStream:
    """Stream state for the Gemini-native surface: `feed(batch)` → the events to send now,
    `finish()` → what was held back."""

    __slots__ = ("claude", "held", "hide_thoughts", "recorder")

    def __init__(
        self, *, claude: bool, recorder: NativeSignatureRecorder | None = None, hide_thoughts: bool = False
    ) -> None:
        self.claude = claude
        self.held: Event | None = None
        self.recorder = recorder
        """Set only for requests that declare tools: no other answer's signatures are replayed."""
        self.hide_thoughts = hide_thoughts
        """Thoughts the gateway asked for only to record Claude's signed thinking."""

    def feed(self, batch: list[Event]) -> list[Event]:
        out: list[Event] = []
        recorder = self.recorder
        for event in batch:
            if recorder is not None:
                recorder.feed(event)
                if self.hide_thoughts and not strip_thoughts(event):
                    continue
            held = self.held
            if held is not None:
                if _usage_only(event):
                    held["usageMetadata"] = event["usageMetadata"]  # cumulative: the later wins
                    continue
                out.append(held)
                self.held = None
            if normalize_finish(event, claude=self.claude):
                self.held = event
            else:
                out.append(event)
        return out

    def finish(self) -> list[Event]:
        if self.recorder is not None:
            self.recorder.finish()
        held, self.held = self.held, None
        return [held] if held is not None else []
