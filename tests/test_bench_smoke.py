"""The benchmark harness must not rot: its modules import, and the floor relays a request and a
stream to a served Cloud Code emulator. No timing is asserted here (timing goals live in bench/)."""

from __future__ import annotations

import importlib

import httpx
import pytest
from bench import floor, loadgen, payloads, procstat
from bench.payloads import Credentials, request_spec

from switchyard.emulators.cloudcode import create_app as create_cloudcode
from switchyard.emulators.tokens import issue_access_token
from tests.servers import serve

ACCOUNT = "antigravity-1"


def test_bench_modules_import() -> None:
    for name in (
        "bench.run",
        "bench.scenarios",
        "bench.processes",
        "bench.results",
        "bench.compare",
        "bench.cluster",
    ):
        importlib.import_module(name)
    assert loadgen.percentiles([3.0, 1.0, 2.0])["p50"] == 2.0
    assert procstat.cpu_seconds(__import__("os").getpid()) > 0


@pytest.mark.parametrize(
    ("client", "server"),
    [
        ("gateway", "starlette"),
        ("httpx", "starlette"),
        ("aiohttp", "starlette"),
        ("raw", "starlette"),
        ("httpx-raw", "starlette"),
        ("raw", "asgi"),
    ],
)
def test_floor_relays_unary_and_stream_to_the_emulator(client: str, server: str) -> None:
    token = issue_access_token(ACCOUNT, f"{ACCOUNT}@example.com", 600)
    with serve(create_cloudcode()) as cloudcode:
        app = (
            floor.create_asgi_app(cloudcode, client=client)
            if server == "asgi"
            else floor.create_app(cloudcode, client=client)
        )
        with serve(app) as relay:
            _relay_unary_and_stream(cloudcode, relay, token)
    assert payloads.TARGETS == ("direct", "floor", "gemini", "openai")


def _relay_unary_and_stream(cloudcode: str, relay: str, token: str) -> None:
    project = httpx.post(
        f"{cloudcode}/v1internal:loadCodeAssist",
        json={"metadata": {"ideType": "ANTIGRAVITY"}},
        headers={"authorization": f"Bearer {token}"},
    ).json()["cloudaicompanionProject"]
    creds = Credentials(client_key="unused", access_token=token, project=str(project))
    httpx.post(
        f"{cloudcode}/_control/settings", json={"events_per_stream": 5, "bytes_per_event": 16}
    ).raise_for_status()
    for stream in (False, True):
        spec = request_spec("floor", creds, stream=stream)
        reply = httpx.post(relay + spec["path"], headers=spec["headers"], content=spec["body"])
        assert reply.status_code == 200, reply.text
        if stream:
            assert reply.text.count("data:") == 5
        else:
            assert reply.json()["response"]["candidates"]


def test_loadgen_spreads_its_connections_over_several_ports() -> None:
    """bench/cluster.py drives N instances through `ports`: connection i goes to ports[i % N]."""
    from bench.scenarios import run_loadgen
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    hits: list[int] = [0, 0]

    def counter(index: int) -> Starlette:
        async def hit(_request: Request) -> Response:
            hits[index] += 1
            return Response("{}", media_type="application/json")

        return Starlette(routes=[Route("/hit", hit, methods=["POST"])])

    with serve(counter(0)) as first, serve(counter(1)) as second:
        result = run_loadgen(
            {
                "host": "127.0.0.1",
                "port": 0,
                "ports": [int(url.rsplit(":", 1)[1]) for url in (first, second)],
                "path": "/hit",
                "headers": {"Content-Type": "application/json"},
                "body": "{}",
                "mode": "unary",
                "concurrency": 4,
                "warmup_s": 0.0,
                "duration_s": 0.5,
                "watch_pids": [],
            }
        )
    assert result["errors"] == 0 and result["requests"] > 0
    assert hits[0] > 0 and hits[1] > 0, hits
