"""Quota periods are calendar periods in UTC (the contract): a day, a week from Monday, a month."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from switchyard.keys.limits import period_bounds


def at(*parts: int) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp()  # type: ignore[misc]


@pytest.mark.parametrize(
    ("period", "moment", "start", "end"),
    [
        ("day", at(2026, 12, 4, 23, 59, 59), at(2026, 12, 4), at(2026, 12, 5)),
        ("day", at(2026, 12, 5), at(2026, 12, 5), at(2026, 12, 6)),
        ("week", at(2026, 12, 4, 12), at(2026, 11, 30), at(2026, 12, 7)),  # a Friday
        ("week", at(2026, 11, 30), at(2026, 11, 30), at(2026, 12, 7)),  # a Monday's first second
        ("month", at(2026, 12, 31, 23, 59, 59), at(2026, 12, 1), at(2027, 1, 1)),
        ("month", at(2028, 2, 29, 8), at(2028, 2, 1), at(2028, 3, 1)),  # a leap day
    ],
)
def test_period_bounds(period: str, moment: float, start: float, end: float) -> None:
    assert period_bounds(period, moment) == (start, end)  # type: ignore[arg-type]
    assert period_bounds(period, moment) == (start, end)  # the cached answer is the same
