"""The limit syntax operators type (`30d`, `2026-12-31`, `1000/day`) and the quota windows.

Quota windows are calendar periods in UTC (a day starts at 00:00 UTC, a week on Monday, a month on
the 1st): easy to explain to the people holding the keys, and `Retry-After` is simply the period end.
"""

from __future__ import annotations

import functools
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

Period = Literal["day", "week", "month"]
PERIODS: tuple[Period, ...] = ("day", "week", "month")

_DURATION = re.compile(r"^([0-9]{1,6})\s*([mhdw])$")
"""At most 999999 units (19 years of weeks): a longer one overflowed the timestamp (a 500)."""
_DURATION_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_QUOTA = re.compile(r"^(\d+)\s*/\s*(day|week|month)$")


@dataclass(frozen=True)
class Quota:
    limit: int
    period: Period

    def __str__(self) -> str:
        return f"{self.limit}/{self.period}"


def parse_expiry(text: str, now: float | None = None) -> float:
    """`30d`, `12h`, `2w` from now, or an ISO date/time (UTC when no zone is given)."""
    now = time.time() if now is None else now
    value = text.strip().lower()
    match = _DURATION.match(value)
    if match:
        return now + int(match.group(1)) * _DURATION_UNITS[match.group(2)]
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValueError(
            f"cannot read expiry {text!r}: use a duration such as 30d, 12h, 2w or a date such as 2026-12-31"
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


QUOTA_MAX = 2**63 - 1
"""The store keeps quotas in 64-bit integer columns."""


def parse_quota(text: str) -> Quota:
    match = _QUOTA.match(text.strip().lower())
    if not match:
        raise ValueError(f"cannot read quota {text!r}: use N/day, N/week or N/month, e.g. 1000/day")
    limit = int(match.group(1))
    if limit > QUOTA_MAX:
        raise ValueError(f"cannot read quota {text!r}: the limit may be at most {QUOTA_MAX}")
    return Quota(limit, match.group(2))  # type: ignore[arg-type]


def period_bounds(period: Period, now: float | None = None) -> tuple[float, float]:
    """The start and end (Unix seconds) of the calendar period that contains `now`."""
    return _bounds(period, int((time.time() if now is None else now) // 86_400))


@functools.lru_cache(maxsize=64)
def _bounds(period: Period, day_number: int) -> tuple[float, float]:
    """Every period starts on a UTC day: computed once per day and kind (it is on the path of
    every request of a key with a quota)."""
    day = datetime.fromtimestamp(day_number * 86_400, UTC)
    if period == "day":
        start, end = day, day + timedelta(days=1)
    elif period == "week":
        start = day - timedelta(days=day.weekday())
        end = start + timedelta(days=7)
    else:
        start = day.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
    return start.timestamp(), end.timestamp()
