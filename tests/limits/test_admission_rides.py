"""With Redis, a key's admission rides with the request's take of an account: one script, one
round trip (`KeyGuard.admit`, `redis_link.Gate`). What must still hold around it: a request
answered without an account is admitted on its own; a request taking several accounts at once
(images with n > 1) is admitted once and gives its slot back; a refused request downloads none of
its media; a counter Redis lost is seeded again from the usage table."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import anthropic
import httpx
import openai
import pytest
import redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from switchyard.keys.limits import Quota
from tests.conftest import create_key
from tests.e2e.test_openai_chat_media import PNG
from tests.limits.shared import URL, cluster, drop_prefix, redis_or_skip
from tests.pool.test_state import REDIS_URL
from tests.servers import serve
from tests.web_stack import WebStack, web_stack


@pytest.fixture
def web(tmp_path: Path) -> Iterator[WebStack]:
    redis_or_skip()
    prefix = f"switchyard-test-{uuid.uuid4().hex[:8]}"
    try:
        with web_stack(tmp_path, redis_url=REDIS_URL, redis_prefix=prefix) as built:
            yield built
    finally:
        drop_prefix(prefix)


def _members(prefix: str, pattern: str) -> int:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        return sum(int(client.zcard(name)) for name in client.scan_iter(f"{prefix}:{pattern}"))
    finally:
        client.close()


def test_a_request_answered_without_an_account_is_still_limited(web: WebStack) -> None:
    """Red with `takes_account=False` dropped from the route: the admission waited for a take
    that never came, and the key's rpm let every count through."""
    key = create_key(web.settings, rpm=2)
    client = anthropic.Anthropic(base_url=web.gateway + "/gemini_official", api_key=key, max_retries=0)
    try:
        for _ in range(2):
            counted = client.messages.count_tokens(
                model="gemini-2.5-flash", messages=[{"role": "user", "content": "count me"}]
            )
            assert counted.input_tokens > 0
        with pytest.raises(anthropic.RateLimitError, match="rate limit of 2 requests per minute"):
            client.messages.count_tokens(
                model="gemini-2.5-flash", messages=[{"role": "user", "content": "more"}]
            )
    finally:
        client.close()


def test_parallel_takes_of_one_request_share_its_admission_and_give_its_slot_back(web: WebStack) -> None:
    key = create_key(web.settings, rpm=1, max_concurrent=1)
    client = openai.OpenAI(base_url=web.base_url, api_key=key, max_retries=0, timeout=60)
    try:
        result = client.images.generate(model="gemini-2.5-flash-imagen", prompt="two foxes", n=2)
        assert len(result.data or []) == 2  # one admission (rpm 1, one slot) for both images
        assert _members(web.settings.redis_prefix, "kslots:*") == 0  # its slot is back
        with pytest.raises(openai.RateLimitError, match="rate limit of 1 requests per minute"):
            client.images.generate(model="gemini-2.5-flash-imagen", prompt="two more", n=2)
        with pytest.raises(openai.RateLimitError, match="rate limit of 1 requests per minute"):
            client.chat.completions.create(
                model="gemini-2.5-flash", messages=[{"role": "user", "content": "and a chat"}]
            )
    finally:
        client.close()
    assert _members(web.settings.redis_prefix, "slots:*") == 0  # no account slot kept by a refusal


def test_a_refused_request_downloads_none_of_its_media(tmp_path: Path) -> None:
    """Red when the media download does not confirm the admission first: the refused request
    fetched its image (and only then heard 429)."""
    fetched: list[str] = []

    async def image(request: Request) -> Response:
        fetched.append(request.url.path)
        return Response(PNG, media_type="image/png")

    with (
        serve(Starlette(routes=[Route("/{name}", image)])) as media,
        cluster(tmp_path, instances=1, media_allow_hosts=["127.0.0.1"]) as (stack, urls),
    ):
        key = stack.create_key(rpm=1)
        client = openai.OpenAI(base_url=urls[0] + "/antigravity/v1", api_key=key, max_retries=0)
        parts = [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": f"{media}/first.png"}},
        ]
        answer = client.chat.completions.create(
            model="gemini-2.5-flash", messages=[{"role": "user", "content": parts}]
        )
        assert answer.choices[0].message.content and fetched == ["/first.png"]
        parts[1] = {"type": "image_url", "image_url": {"url": f"{media}/second.png"}}
        with pytest.raises(openai.RateLimitError, match="rate limit of 1 requests per minute"):
            client.chat.completions.create(
                model="gemini-2.5-flash", messages=[{"role": "user", "content": parts}]
            )
        assert fetched == ["/first.png"]


def test_a_counter_redis_lost_is_seeded_again_under_a_riding_admission(tmp_path: Path) -> None:
    """The take carried the admission, the script asked for a seed (its counter gone, as after a
    Redis restart without persistence): the gateway seeds it from the usage table and takes again."""
    with cluster(tmp_path, instances=1, usage_flush_interval_s=0.05) as (stack, urls):
        key = stack.create_key(quota_requests=Quota(3, "day"))

        def one() -> int:
            return httpx.post(
                urls[0] + URL,
                headers={"x-goog-api-key": key},
                json={"contents": [{"role": "user", "parts": [{"text": uuid.uuid4().hex}]}]},
                timeout=30,
            ).status_code

        assert one() == 200
        client = redis.Redis.from_url(REDIS_URL)
        try:
            counters = list(client.scan_iter(f"{stack.settings.redis_prefix}:kq:*"))
            assert len(counters) == 1 and client.get(counters[0]) == b"1"
            time.sleep(0.3)  # the first request's usage row is in the table
            client.delete(*counters)
            assert [one(), one(), one()] == [200, 200, 429]  # 1 from the table, then 2 more
            assert client.get(counters[0]) == b"3"
        finally:
            client.close()
