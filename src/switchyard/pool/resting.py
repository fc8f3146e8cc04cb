"""The 429 a client gets when no account can take its request, with a message that says why.

"429, all credentials cooling down" with no detail is the top complaint about similar gateways
(field-notes 1); this message counts the accounts per reason, gives the next reset per reason, and
`Retry-After` is the earliest moment one of them can serve again.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence

from switchyard.errors import NoAccountAvailable
from switchyard.pool.state import Cooldown
from switchyard.shared.accounts import UpstreamAccount

BUSY_RETRY_AFTER_S = 1.0


def format_delay(seconds: float) -> str:
    """`3h12m`, `4m05s`, `12s`: short enough for a log line, exact enough to plan by."""
    total = max(0, math.ceil(seconds))
    if total >= 24 * 3600:
        days, hours = divmod(math.ceil(total / 3600), 24)
        return f"{days}d{hours}h"
    if total >= 3600:
        hours, minutes = divmod(math.ceil(total / 60), 60)
        return f"{hours}h{minutes:02d}m"
    minutes, secs = divmod(total, 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def unavailable(
    provider: str,
    family: str,
    accounts: Sequence[UpstreamAccount],
    cooling: Mapping[int, Cooldown],
    exclude: set[int],
    *,
    busy: set[int],
    now: float | None = None,
) -> NoAccountAvailable:
    """Why none of `accounts` can serve (provider, family) now, as the error to raise."""
    now = time.time() if now is None else now
    groups: dict[str, list[float]] = {}
    for account in accounts:
        entry = cooling.get(account.id)
        if entry is not None:
            groups.setdefault(entry.reason or "cooling down", []).append(entry.until)
    parts = []
    for reason, untils in sorted(groups.items(), key=lambda item: (-len(item[1]), item[0])):
        parts.append(f"{len(untils)} {reason} (next reset in {format_delay(min(untils) - now)})")
    failed = [a for a in accounts if a.id in exclude and a.id not in cooling]
    if failed:
        parts.append(f"{len(failed)} failed for this request")
    if busy:
        parts.append(f"{len(busy)} at the concurrency cap")
    resting = sum(len(untils) for untils in groups.values())
    if resting == len(accounts):
        head = f"All {len(accounts)} {provider} accounts for {family} models are resting"
    else:
        head = f"No {provider} account can take this {family} request now ({len(accounts)} usable)"
    earliest = min((min(untils) for untils in groups.values()), default=None)
    # A full or just-failed account may take the next request at once; a resting one at its reset.
    soon = busy or failed or earliest is None
    retry_after = BUSY_RETRY_AFTER_S if soon or earliest is None else max(1.0, earliest - now)
    return NoAccountAvailable(f"{head}: {', '.join(parts)}.", retry_after=retry_after)
