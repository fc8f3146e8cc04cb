"""How soon a key/account change reaches another instance (issue 16): `python -m bench.change_delay`.

Two measurements, on the Redis at `SWITCHYARD_TEST_REDIS_URL` (default 127.0.0.1:6379):

- feed: one `ChangeFeed` publishes, another (same process, its own connection) receives; the time
  from `publish` to the listener call, over `--rounds` notices.
- gateways: two gateways (uvicorn, one SQLite file, one prefix); a key is disabled on A through the
  admin API and B is asked with that key in a tight loop; the time from A's answer to B's first 403.
  This includes one request to B, so it is an upper bound of the notice's own delay.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from pydantic import SecretStr
from tests.servers import serve

from switchyard.app import create_app
from switchyard.config import Settings
from switchyard.shared.changes import Change, ChangeFeed

REDIS_URL = os.environ.get("SWITCHYARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _summary(name: str, samples_s: list[float]) -> None:
    ms = sorted(sample * 1000 for sample in samples_s)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    print(f"{name}: n={len(ms)} median={statistics.median(ms):.2f} ms p99={p99:.2f} ms max={ms[-1]:.2f} ms")


async def feed_delay(rounds: int) -> list[float]:
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    sender, receiver = ChangeFeed(REDIS_URL, prefix), ChangeFeed(REDIS_URL, prefix)
    arrived: asyncio.Queue[float] = asyncio.Queue()
    receiver.listen(lambda change: arrived.put_nowait(time.perf_counter()))
    await receiver.start()
    samples = []
    try:
        for _ in range(rounds):
            sent = time.perf_counter()
            await sender.publish(Change("keys", "disabled"))
            samples.append(await asyncio.wait_for(arrived.get(), 5) - sent)
    finally:
        await sender.aclose()
        await receiver.aclose()
    return samples


def gateway_delay(rounds: int) -> list[float]:
    admin = "sy-admin-bench"
    with tempfile.TemporaryDirectory() as data:
        settings = Settings(
            data_dir=Path(data),
            redis_url=REDIS_URL,
            redis_prefix=f"bench-{uuid.uuid4().hex[:8]}",
            admin_key=SecretStr(admin),
            key_cache_ttl_s=600.0,
        )
        headers = {"authorization": f"Bearer {admin}"}
        samples = []
        with serve(create_app(settings)) as a, serve(create_app(settings)) as b, httpx.Client() as client:
            for index in range(rounds):
                key = client.post(f"{a}/admin/api/keys", json={"name": f"k{index}"}, headers=headers).json()[
                    "key"
                ]
                auth = {"authorization": f"Bearer {key}"}
                assert client.get(f"{b}/antigravity/v1/models", headers=auth).status_code == 200
                client.post(f"{a}/admin/api/keys/k{index}/disable", headers=headers).raise_for_status()
                answered = time.perf_counter()
                while client.get(f"{b}/antigravity/v1/models", headers=auth).status_code != 403:
                    pass
                samples.append(time.perf_counter() - answered)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    _summary("feed (publish -> listener)", asyncio.run(feed_delay(args.rounds)))
    _summary("gateways (disable on A answered -> 403 on B)", gateway_delay(max(1, args.rounds // 10)))


if __name__ == "__main__":
    main()
