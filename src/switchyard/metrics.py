"""Prometheus metrics, one registry per app (tests build many apps in one process)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


@dataclass
class Metrics:
    registry: CollectorRegistry
    requests: Counter
    latency: Histogram
    ttfb: Histogram
    upstream_errors: Counter
    open_streams: Gauge
    tokens: Counter
    store_up: Gauge
    redis_up: Gauge
    redis_round_trips: Gauge
    redis_entries: Gauge


def create_metrics() -> Metrics:
    registry = CollectorRegistry()
    return Metrics(
        registry=registry,
        requests=Counter(
            "switchyard_requests",
            "Client requests by surface, provider, model and HTTP status.",
            ["surface", "provider", "model", "status"],
            registry=registry,
        ),
        latency=Histogram(
            "switchyard_request_duration_seconds",
            "Time from request to the last byte of the response.",
            ["surface", "provider"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        ),
        ttfb=Histogram(
            "switchyard_time_to_first_byte_seconds",
            "Time from request to the first byte of the response body.",
            ["surface", "provider"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        ),
        upstream_errors=Counter(
            "switchyard_upstream_errors",
            "Upstream failures by provider and error class.",
            ["provider", "error_class"],
            registry=registry,
        ),
        open_streams=Gauge("switchyard_open_streams", "Streaming responses in progress.", registry=registry),
        tokens=Counter(
            "switchyard_tokens",
            "Tokens by provider, model and kind (prompt, completion, reasoning).",
            ["provider", "model", "kind"],
            registry=registry,
        ),
        store_up=Gauge(
            "switchyard_store_up",
            "1 while the store (database) answers, 0 while it is unreachable and the gateway "
            "serves from memory.",
            registry=registry,
        ),
        redis_up=Gauge(
            "switchyard_redis_up",
            "1 while Redis answers, 0 while limits and slots run on this instance alone (set only "
            "when SWITCHYARD_REDIS_URL is configured).",
            registry=registry,
        ),
        redis_round_trips=Gauge(
            "switchyard_redis_round_trips",
            "Round trips to Redis since start (a pipeline is one).",
            registry=registry,
        ),
        redis_entries=Gauge(
            "switchyard_redis_batched_entries",
            "Scripts and writes sent in the shared pipelines since start; over the round trips, "
            "how many share one.",
            registry=registry,
        ),
    )
