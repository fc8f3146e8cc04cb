"""Read-only aggregations over `usage_events` for the dashboard, the request log and the admin API.

Everything is computed in SQL, grouped into fixed time buckets, so a busy week costs the database a
GROUP BY rather than shipping every row to Python. The SQL is portable between SQLite and PostgreSQL
with one exception: rounding a float down to a bucket number. PostgreSQL's CAST rounds to nearest,
SQLite's truncates, so PostgreSQL gets `floor()` (which SQLite builds often lack). Grouping is by
output label, because PostgreSQL would see two different bound parameters in a repeated expression
and refuse the GROUP BY.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from sqlalchemy import Integer, case, cast, func, select
from sqlalchemy.sql.elements import ColumnElement

from switchyard.store.db import Store
from switchyard.store.tables import UsageEvent

Range = Literal["hour", "day", "week"]
Dimension = Literal["provider", "model", "key", "account"]

RANGES: dict[str, tuple[int, int]] = {"hour": (3600, 60), "day": (86400, 1800), "week": (7 * 86400, 7200)}
"""range → (length, bucket) in seconds: 60 one-minute bars, 48 half-hours, 84 two-hour bars."""
DIMENSIONS: dict[str, Any] = {
    "provider": UsageEvent.provider,
    "model": UsageEvent.model,
    "key": UsageEvent.key_name,
    "account": UsageEvent.account,
}
MAX_GROUPS = 8
"""Series beyond this many (by request count) are summed into "other": a chart with 40 colours
says nothing."""
OTHER = "other"
RECENT_LIMIT_MAX = 500


@dataclass
class Totals:
    requests: int = 0
    errors: int = 0
    tokens: int = 0
    avg_latency_ms: float | None = None
    avg_ttfb_ms: float | None = None


@dataclass
class Series:
    """Per-bucket numbers per group (provider, model, key or account) over one range."""

    range: str
    by: str
    start: float
    bucket_s: int
    buckets: int
    groups: list[str] = field(default_factory=list)
    requests: dict[str, list[int]] = field(default_factory=dict)
    errors: dict[str, list[int]] = field(default_factory=dict)
    tokens: dict[str, list[int]] = field(default_factory=dict)
    ttfb_ms: dict[str, list[float | None]] = field(default_factory=dict)
    """Mean time to first byte per bucket and group; None where nothing was measured."""
    totals: Totals = field(default_factory=Totals)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RequestRow:
    """One logged request: never its content, which the gateway does not store."""

    id: int
    created_at: float
    request_id: str
    key_name: str | None
    surface: str
    provider: str
    model: str | None
    account: str | None
    status: int
    error_class: str | None
    stream: bool
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    latency_ms: float
    ttfb_ms: float | None


@dataclass
class RequestFilters:
    key: str | None = None
    model: str | None = None
    provider: str | None = None
    status: str | None = None
    """`ok` (< 400), `error` (≥ 400), `2xx`/`4xx`/`5xx`, or an exact code such as `429`."""


def _bucket_of(store: Store, start: float, bucket_s: int) -> ColumnElement[Any]:
    offset = (UsageEvent.created_at - start) / float(bucket_s)
    if store.engine.dialect.name == "postgresql":
        return func.floor(offset)
    return cast(offset, Integer)  # non-negative here, so truncation is floor


def window(range_name: str, now: float | None = None) -> tuple[float, float, int, int]:
    """(start, end, bucket_s, buckets): the end is rounded up to a bucket edge so bars line up."""
    if range_name not in RANGES:
        raise ValueError(f"unknown range {range_name!r}: use {', '.join(RANGES)}")
    length, bucket_s = RANGES[range_name]
    now = time.time() if now is None else now
    end = math.ceil(now / bucket_s) * bucket_s
    return end - length, end, bucket_s, length // bucket_s


async def usage_series(
    store: Store, range_name: str = "hour", by: str = "provider", now: float | None = None
) -> Series:
    if by not in DIMENSIONS:
        raise ValueError(f"unknown grouping {by!r}: use {', '.join(DIMENSIONS)}")
    start, end, bucket_s, buckets = window(range_name, now)
    group = func.coalesce(DIMENSIONS[by], "-")
    errors = func.sum(case((UsageEvent.status >= 400, 1), else_=0))
    tokens = func.sum(UsageEvent.prompt_tokens + UsageEvent.completion_tokens)
    query = (
        select(
            _bucket_of(store, start, bucket_s).label("bucket"),
            group.label("grp"),
            func.count(UsageEvent.id),
            errors,
            tokens,
            func.sum(UsageEvent.ttfb_ms),
            func.count(UsageEvent.ttfb_ms),
            func.sum(UsageEvent.latency_ms),
        )
        .where(UsageEvent.created_at >= start, UsageEvent.created_at < end)
        .group_by("bucket", "grp")
    )
    async with store.sessions() as session:
        rows = (await session.execute(query)).all()
    per_group: dict[str, int] = {}
    for row in rows:
        per_group[str(row[1])] = per_group.get(str(row[1]), 0) + int(row[2])
    ranked = sorted(per_group, key=lambda g: (-per_group[g], g))
    kept = set(ranked[:MAX_GROUPS] if len(ranked) <= MAX_GROUPS else ranked[: MAX_GROUPS - 1])
    series = Series(range=range_name, by=by, start=start, bucket_s=bucket_s, buckets=buckets)
    series.groups = [g for g in ranked if g in kept] + ([OTHER] if len(kept) < len(ranked) else [])
    ttfb_sum = {g: [0.0] * buckets for g in series.groups}
    ttfb_count = {g: [0] * buckets for g in series.groups}
    for name in series.groups:
        series.requests[name], series.errors[name], series.tokens[name] = (
            [0] * buckets,
            [0] * buckets,
            [0] * buckets,
        )
    latency_sum = ttfb_total = 0.0
    ttfb_measured = 0
    for bucket, grp, count, errs, toks, ttfb, ttfb_n, latency in rows:
        index = min(max(int(bucket), 0), buckets - 1)
        name = str(grp) if str(grp) in kept else OTHER
        series.requests[name][index] += int(count)
        series.errors[name][index] += int(errs or 0)
        series.tokens[name][index] += int(toks or 0)
        ttfb_sum[name][index] += float(ttfb or 0.0)
        ttfb_count[name][index] += int(ttfb_n)
        latency_sum += float(latency or 0.0)
        ttfb_total += float(ttfb or 0.0)
        ttfb_measured += int(ttfb_n)
    for name in series.groups:
        series.ttfb_ms[name] = [
            round(total / n, 1) if n else None
            for total, n in zip(ttfb_sum[name], ttfb_count[name], strict=True)
        ]
    requests = sum(per_group.values())
    series.totals = Totals(
        requests=requests,
        errors=sum(sum(values) for values in series.errors.values()),
        tokens=sum(sum(values) for values in series.tokens.values()),
        avg_latency_ms=round(latency_sum / requests, 1) if requests else None,
        avg_ttfb_ms=round(ttfb_total / ttfb_measured, 1) if ttfb_measured else None,
    )
    return series


def _status_condition(status: str) -> ColumnElement[bool]:
    text = status.strip().lower()
    if text == "ok":
        return UsageEvent.status < 400
    if text == "error":
        return UsageEvent.status >= 400
    if len(text) == 3 and text[0].isdigit() and text.endswith("xx"):
        low = int(text[0]) * 100
        return (UsageEvent.status >= low) & (UsageEvent.status < low + 100)
    if text.isdigit():
        return UsageEvent.status == int(text)
    raise ValueError(f"unknown status filter {status!r}: use ok, error, 2xx, 4xx, 5xx or a code such as 429")


async def recent_requests(
    store: Store, filters: RequestFilters | None = None, *, limit: int = 100, before_id: int | None = None
) -> list[RequestRow]:
    """The newest requests first, optionally filtered; `before_id` pages further back."""
    filters = filters or RequestFilters()
    query = select(UsageEvent).order_by(UsageEvent.id.desc()).limit(max(1, min(limit, RECENT_LIMIT_MAX)))
    if filters.key:
        query = query.where(UsageEvent.key_name == filters.key)
    if filters.model:
        query = query.where(UsageEvent.model == filters.model)
    if filters.provider:
        query = query.where(UsageEvent.provider == filters.provider)
    if filters.status:
        query = query.where(_status_condition(filters.status))
    if before_id is not None:
        query = query.where(UsageEvent.id < before_id)
    async with store.sessions() as session:
        events = (await session.scalars(query)).all()
    return [
        RequestRow(
            id=e.id,
            created_at=e.created_at,
            request_id=e.request_id,
            key_name=e.key_name,
            surface=e.surface,
            provider=e.provider,
            model=e.model,
            account=e.account,
            status=e.status,
            error_class=e.error_class,
            stream=bool(e.stream),
            prompt_tokens=e.prompt_tokens,
            completion_tokens=e.completion_tokens,
            reasoning_tokens=e.reasoning_tokens,
            latency_ms=e.latency_ms,
            ttfb_ms=e.ttfb_ms,
        )
        for e in events
    ]


@dataclass
class FilterChoices:
    keys: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    providers: list[str] = field(default_factory=list)


async def filter_choices(store: Store, since_s: float = 30 * 86400) -> FilterChoices:
    """What the request log's filter menus offer: values seen in the last `since_s` seconds."""
    since = time.time() - since_s
    choices = FilterChoices()
    async with store.sessions() as session:
        for column, target in (
            (UsageEvent.key_name, choices.keys),
            (UsageEvent.model, choices.models),
            (UsageEvent.provider, choices.providers),
        ):
            values = await session.scalars(
                select(column)
                .distinct()
                .where(UsageEvent.created_at >= since, column.is_not(None))
                .limit(200)
            )
            target.extend(sorted(str(v) for v in values if v))
    return choices
