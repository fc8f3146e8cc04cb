"""One upstream account as a provider calls it.

It lives here, not in `providers/`, because the store builds it (`store/accounts.py`) and the pool
hands it around: neither should import the providers to name it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class UpstreamAccount:
    """What a provider needs to call the upstream as one account (secrets already decrypted)."""

    id: int
    name: str
    provider: str
    secret: dict[str, str]
    project_id: str | None = None
    email: str | None = None
    proxy_url: str | None = None
    user_agent: str | None = None
    """The account's own client fingerprint (Antigravity); None uses the gateway's setting."""
    meta: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:  # never print secrets, even in a traceback
        return f"UpstreamAccount(id={self.id}, name={self.name!r}, provider={self.provider!r})"
