"""The usage aggregations on both stores: SQLite rounds bucket numbers with CAST, PostgreSQL with
floor(), and both must put every event in the same bucket."""

from __future__ import annotations

from typing import Any

from switchyard.admin import usage_queries
from switchyard.admin.usage_queries import RequestFilters
from switchyard.config import Settings
from switchyard.store.db import Store
from switchyard.store.tables import UsageEvent
from tests.conftest import run_with_store

NOW = 1_800_000_000.0  # a bucket edge for every range: divisible by 7200


def _event(seconds_ago: float, **fields: Any) -> UsageEvent:
    values: dict[str, Any] = {
        "created_at": NOW - seconds_ago,
        "request_id": f"r{seconds_ago}",
        "key_name": "alpha",
        "surface": "gemini",
        "provider": "antigravity",
        "model": "gemini-2.5-flash",
        "account": "antigravity-1",
        "status": 200,
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "latency_ms": 100.0,
        "ttfb_ms": 40.0,
    }
    values.update(fields)
    return UsageEvent(**values)


async def _seed(store: Store) -> None:
    async with store.sessions() as session:
        session.add_all(
            [
                _event(30),  # last minute bucket
                _event(59.9, key_name="beta", model="claude-sonnet-4-5", ttfb_ms=80.0),
                _event(61, status=429, error_class="rate_limited", ttfb_ms=None),  # bucket 58
                _event(3599),  # bucket 0
                _event(3601),  # outside the hour
                _event(86_000, key_name=None),  # inside the day only
            ]
        )
        await session.commit()


def test_series_buckets_and_totals(store_settings: Settings) -> None:
    async def work(store: Store) -> dict[str, usage_queries.Series]:
        await _seed(store)
        return {
            "hour": await usage_queries.usage_series(store, "hour", "key", now=NOW),
            "day": await usage_queries.usage_series(store, "day", "model", now=NOW),
        }

    result = run_with_store(store_settings, work)
    hour = result["hour"]
    assert hour.buckets == 60 and hour.start == NOW - 3600
    assert hour.groups == ["alpha", "beta"]
    assert hour.requests["alpha"][59] == 1 and hour.requests["beta"][59] == 1
    assert hour.requests["alpha"][58] == 1 and hour.errors["alpha"][58] == 1
    assert hour.requests["alpha"][0] == 1 and sum(hour.requests["alpha"]) == 3
    assert hour.ttfb_ms["beta"][59] == 80.0 and hour.ttfb_ms["alpha"][58] is None
    assert hour.tokens["alpha"][59] == 15
    assert hour.totals.requests == 4 and hour.totals.errors == 1 and hour.totals.tokens == 60
    assert hour.totals.avg_ttfb_ms == round((40 + 80 + 40) / 3, 1)

    day = result["day"]
    assert day.buckets == 48 and day.totals.requests == 6
    assert day.groups == ["gemini-2.5-flash", "claude-sonnet-4-5"]


def test_many_groups_fold_into_other(store_settings: Settings) -> None:
    async def work(store: Store) -> usage_queries.Series:
        async with store.sessions() as session:
            session.add_all([_event(10 + i, model=f"model-{i:02d}") for i in range(12)])
            await session.commit()
        return await usage_queries.usage_series(store, "hour", "model", now=NOW)

    series = run_with_store(store_settings, work)
    assert len(series.groups) == usage_queries.MAX_GROUPS and series.groups[-1] == "other"
    assert sum(sum(v) for v in series.requests.values()) == 12
    assert sum(series.requests["other"]) == 12 - (usage_queries.MAX_GROUPS - 1)


def test_recent_requests_filters_and_paging(store_settings: Settings) -> None:
    async def work(store: Store) -> dict[str, list[usage_queries.RequestRow]]:
        await _seed(store)
        first = await usage_queries.recent_requests(store, limit=2)
        return {
            "all": await usage_queries.recent_requests(store),
            "first": first,
            "next": await usage_queries.recent_requests(store, limit=2, before_id=first[-1].id),
            "errors": await usage_queries.recent_requests(store, RequestFilters(status="error")),
            "4xx": await usage_queries.recent_requests(store, RequestFilters(status="4xx")),
            "429": await usage_queries.recent_requests(store, RequestFilters(status="429")),
            "beta": await usage_queries.recent_requests(store, RequestFilters(key="beta")),
            "model": await usage_queries.recent_requests(
                store, RequestFilters(model="gemini-2.5-flash", provider="antigravity", status="ok")
            ),
        }

    rows = run_with_store(store_settings, work)
    assert len(rows["all"]) == 6 and [r.id for r in rows["all"]] == sorted(
        (r.id for r in rows["all"]), reverse=True
    )
    assert [r.id for r in rows["first"] + rows["next"]] == [r.id for r in rows["all"][:4]]
    assert [r.status for r in rows["errors"]] == [429] == [r.status for r in rows["4xx"]]
    assert len(rows["429"]) == 1
    assert [r.model for r in rows["beta"]] == ["claude-sonnet-4-5"]
    assert len(rows["model"]) == 4
