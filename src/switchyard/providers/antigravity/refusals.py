"""Refusals the upstream sends as an ordinary model answer (HTTP 200), and how to spot them early.

Cloud Code answers a retired model, a model newer than the client, and a client below its version
floor with a normal turn whose whole text is one fixed sentence (protocols/antigravity.md §12.3).
No structured field marks them, so this is the one place the gateway reads message text — and it
reads it strictly: the answer must *be* the sentence (start to end, short, one line). A normal answer
that quotes the sentence, or starts with it and goes on, is an answer.

`classify_refusal(text)` decides on a whole answer. `RefusalScreen` does the same for a stream, one
event at a time: it says "hold" while the text so far could still become a refusal and "release"
as soon as it cannot, so a stream is held back for its first few events only, and only while they
look like the start of such a sentence. Pure: no I/O, no settings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from switchyard.errors import ClientOutdated as UpstreamClientOutdated
from switchyard.errors import ModelRetired, ModelVersionGated, UpstreamError

MAX_REFUSAL_CHARS = 400
"""Longer than any refusal sentence with two model names in it."""
MAX_NAME_CHARS = 64
MAX_NAME_WORDS = 8
MAX_HELD_EVENTS = 8
"""A stream is never held back for more events than this, whatever its text looks like."""

_NAME = rf"[A-Za-z0-9][\w .()/+-]{{0,{MAX_NAME_CHARS - 1}}}"
_RETIRED = re.compile(
    rf"(?P<old>{_NAME}?) is no longer available\. Please switch to (?P<new>{_NAME}?)"
    r"(?: in the latest version of Antigravity)?[.!]?"
)
_GATED = re.compile(
    rf"(?P<model>{_NAME}?) is not available on this version\. Please upgrade to the latest version[.!]?"
)
_UNSUPPORTED = re.compile(
    r"This version of Antigravity is no longer supported\. "
    r"Please (?:update|upgrade) to receive the latest features[.!]?"
)
_OUT_OF_DATE = re.compile(
    r"Your current version of Antigravity is out of date\. "
    r"Please visit https://antigravity\.google/download\b[^\n]{0,200}"
)

_FIXED_OPENINGS = (
    "This version of Antigravity is no longer supported. Please update to receive the latest features",
    "This version of Antigravity is no longer supported. Please upgrade to receive the latest features",
    "Your current version of Antigravity is out of date. Please visit https://antigravity.google/download",
)
_AFTER_NAME = (
    " is no longer available. Please switch to ",
    " is not available on this version. Please upgrade to the latest version.",
)
_NAME_SO_FAR = re.compile(rf"[A-Za-z0-9][\w .()/+-]{{0,{MAX_NAME_CHARS - 1}}}")


@dataclass(frozen=True)
class Retired:
    """ "<old> is no longer available. Please switch to <new>" (`new` is None if it named none)."""

    old_name: str
    new_name: str | None


@dataclass(frozen=True)
class VersionGated:
    """ "<model> is not available on this version. Please upgrade to the latest version." """

    model_name: str


@dataclass(frozen=True)
class ClientOutdated:
    """The client version (our User-Agent) is below the upstream's floor; `message` is the text."""

    message: str


Refusal = Retired | VersionGated | ClientOutdated


def classify_refusal(text: str) -> Refusal | None:
    """The refusal that `text` — a whole answer — is, or None for a real answer."""
    text = text.strip()
    if not text or len(text) > MAX_REFUSAL_CHARS or "\n" in text:
        return None
    if _UNSUPPORTED.fullmatch(text) or _OUT_OF_DATE.fullmatch(text):
        return ClientOutdated(text)
    match = _RETIRED.fullmatch(text)
    if match and _is_name(match["old"]):
        new = match["new"].strip()
        return Retired(match["old"].strip(), new if new and _is_name(new) else None)
    match = _GATED.fullmatch(text)
    if match and _is_name(match["model"]):
        return VersionGated(match["model"].strip())
    return None


def _is_name(name: str) -> bool:
    return bool(name.strip()) and len(name.split()) <= MAX_NAME_WORDS


def could_be_refusal(text: str) -> bool:
    """Whether `text`, the start of an answer, could still grow into a refusal sentence.

    False means "definitely not": the stream can go out. Cheap: a few prefix comparisons on at most
    `MAX_REFUSAL_CHARS` characters.
    """
    text = text.lstrip()
    if len(text) > MAX_REFUSAL_CHARS or "\n" in text.rstrip():
        return False
    if not text:
        return True
    if any(opening.startswith(text) or text.startswith(opening) for opening in _FIXED_OPENINGS):
        return True
    return _could_be_name_led(text)


def _could_be_name_led(text: str) -> bool:
    """`<name><one of _AFTER_NAME><rest>`, or a prefix of it. A model name never contains " is "."""
    splits = list(_occurrences(text, " is ", limit=MAX_NAME_CHARS))
    if not splits:  # still inside the name (perhaps with the start of " is")
        return _NAME_SO_FAR.fullmatch(text) is not None and len(text.split()) <= MAX_NAME_WORDS + 1
    for start in splits:
        name, rest = text[:start], text[start:]
        if _NAME_SO_FAR.fullmatch(name) is None or not _is_name(name):
            continue
        if any(tail.startswith(rest) or rest.startswith(tail) for tail in _AFTER_NAME):
            return True
    return False


def _occurrences(text: str, needle: str, *, limit: int) -> Iterable[int]:
    start = text.find(needle)
    while 0 < start <= limit:
        yield start
        start = text.find(needle, start + 1)


def answer_text(response: Mapping[str, Any]) -> str | None:
    """The plain (non-thought) text of a `GenerateContentResponse`'s first candidate; None when it
    holds anything a refusal never does (a function call, thoughts, inline data) — then it is an
    answer whatever its text says."""
    candidates = response.get("candidates")
    if not isinstance(candidates, list) or not candidates:
        return ""
    candidate = candidates[0]
    content = candidate.get("content") if isinstance(candidate, Mapping) else None
    parts = content.get("parts") if isinstance(content, Mapping) else None
    if not isinstance(parts, list):
        return ""
    texts: list[str] = []
    for part in parts:
        if not isinstance(part, Mapping):
            return None
        text = part.get("text")
        if not isinstance(text, str) or part.get("thought"):
            return None
        texts.append(text)
    return "".join(texts)


def refusal_in(response: Mapping[str, Any]) -> Refusal | None:
    """The refusal a whole non-stream answer is, or None."""
    text = answer_text(response)
    return classify_refusal(text) if text else None


class RefusalScreen:
    """Watches a stream's first events: `feed(event)` answers whether to keep holding them back.

    Once it answered False it is never asked again (the stream's per-chunk path does no screening
    after that). When the stream finishes while it still holds, `verdict()` classifies the text.
    """

    __slots__ = ("_events", "_text")

    def __init__(self) -> None:
        self._text = ""
        self._events = 0

    def feed(self, event: Mapping[str, Any]) -> bool:
        """True while the answer so far could still be a refusal (hold the events back)."""
        self._events += 1
        text = answer_text(event)
        if text is None or self._events > MAX_HELD_EVENTS:
            return False
        self._text += text
        return could_be_refusal(self._text)

    def verdict(self) -> Refusal | None:
        """The refusal the held text is, once the stream has finished."""
        return classify_refusal(self._text)


def refusal_error(refusal: Refusal, *, model: str, user_agent: str) -> UpstreamError:
    """The gateway error for a refusal to `model` (the upstream id asked for) under `user_agent`."""
    if isinstance(refusal, Retired):
        instead = f"; it suggests {refusal.new_name}" if refusal.new_name else ""
        return ModelRetired(
            f"Antigravity no longer serves {model} ({refusal.old_name}){instead}.",
            model=model,
            replacement_name=refusal.new_name,
            upstream_status=200,
            reason="MODEL_RETIRED",
        )
    if isinstance(refusal, VersionGated):
        return ModelVersionGated(
            f"Antigravity does not serve {model} ({refusal.model_name}) to the client version in the "
            f"User-Agent {user_agent!r} on this account.",
            upstream_status=200,
            reason="VERSION_GATED",
        )
    return UpstreamClientOutdated(
        f"Antigravity refused the client version in the User-Agent {user_agent!r}: {refusal.message}",
        upstream_status=200,
        reason="CLIENT_OUTDATED",
    )


class RefusalGuard(RefusalScreen):
    """The stream screen of `events.iter_events`: a `RefusalScreen` that knows what it guards."""

    __slots__ = ("model", "on_refusal", "user_agent")

    def __init__(
        self, *, model: str, user_agent: str, on_refusal: Callable[[UpstreamError], None] | None = None
    ) -> None:
        super().__init__()
        self.model = model
        self.user_agent = user_agent
        self.on_refusal = on_refusal
        """Told of the error before it is raised (the provider learns a retirement from it)."""

    def refusal_error(self) -> UpstreamError | None:
        verdict = self.verdict()
        if verdict is None:
            return None
        error = refusal_error(verdict, model=self.model, user_agent=self.user_agent)
        if self.on_refusal is not None:
            self.on_refusal(error)
        return error
