"""Experiment: `switchyard serve` with `bench/rawhttp.py`'s transport under the direct upstream client.

Not how operators run the gateway: it measures what the raw transport would buy the gateway
(docs/benchmarks.md "What would close the gap — measured"). Same arguments as `switchyard serve`.

    python -m bench.gateway_raw serve --port 8080
"""

from __future__ import annotations

import httpx

from bench.rawhttp import RawTransport
from switchyard.providers.antigravity import transport

_original = transport.build_http_client


def _build(proxy_url: str | None, read_timeout_s: float) -> httpx.AsyncClient:
    if proxy_url is not None:
        return _original(proxy_url, read_timeout_s)
    return httpx.AsyncClient(transport=RawTransport(), timeout=httpx.Timeout(read_timeout_s, connect=20.0))


def main() -> None:
    transport.build_http_client = _build
    from switchyard.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
