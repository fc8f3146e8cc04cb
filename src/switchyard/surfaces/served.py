"""What a stream has served so far, for the usage of a stream that did not finish.

Cloud Code reports the answer's tokens only in its last event (the others carry the prompt's), so
a stream the client left, or the gateway cut at shutdown, would be recorded with no completion
tokens at all — and a client could spend its token quota's worth again and again by stopping each
answer just before its end. So the text of every event read from the upstream is counted as it
goes by (`counting_tokens` wraps the pool's token reader, which sees every batch), and such a
stream is recorded with at least `served_chars / CHARS_PER_TOKEN` completion tokens (context.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from switchyard.pool.stream import batch_tokens
from switchyard.surfaces.context import RequestContext


def counting_tokens(ctx: RequestContext) -> Callable[[list[Any]], int]:
    """`batch_tokens`, also adding the text of each batch's candidates to `ctx.served_chars`."""

    def tokens(batch: list[Any]) -> int:
        for event in batch:
            for candidate in event.get("candidates") or () if isinstance(event, dict) else ():
                content = candidate.get("content") if isinstance(candidate, dict) else None
                for part in (content.get("parts") or ()) if isinstance(content, dict) else ():
                    text = part.get("text") if isinstance(part, dict) else None
                    if isinstance(text, str):
                        ctx.served_chars += len(text)
        return batch_tokens(batch)

    return tokens
