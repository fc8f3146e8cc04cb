"""The per-request context: what the surfaces, the pool and the middleware learn about a request.

The surfaces fill it in, the pool notes the account it chose and the failure class it met
(`pool/failover.py`), and the middleware (`surfaces/context.py`) turns it into the usage event,
the metrics and the log line. It lives here so that the pool can take it without importing the
HTTP surfaces.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # names only: the key types come from a layer above this one
    from switchyard.keys.guard import KeyRecord, Lease


@dataclass(slots=True)
class RequestContext:
    """What the surfaces learn about a request, for usage, metrics and logs."""

    request_id: str
    started: float
    surface: str = "other"
    provider: str = "-"
    model: str | None = None
    model_known: bool = False
    """The surface resolved `model` to a served model before admitting (else it is the client's text)."""
    key: KeyRecord | None = None
    lease: Lease | None = None
    account: str | None = None
    upstream_model: str | None = None
    """The upstream model that served the request (Antigravity generation routes)."""
    stream: bool = False
    status: int = 0
    error_class: str | None = None
    first_byte: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    served_chars: int = 0
    """Text read from the upstream for this stream so far (`served.py`), for a cut stream's usage."""

    def set_usage(self, prompt: int, completion: int, reasoning: int) -> None:
        self.prompt_tokens, self.completion_tokens, self.reasoning_tokens = prompt, completion, reasoning
