"""With Redis, a key's admission rides with the request's take of an account (one script, one
round trip). A request answered without an account (Anthropic count_tokens on the web surface)
is admitted on its own; a request taking several accounts at once (images with n > 1) is admitted
once, and all its takes wait for that one answer."""

from __future__ import annotations

import uuid
from pathlib import Path

import anthropic
import openai
import pytest

from tests.conftest import create_key
from tests.limits.shared import drop_prefix, redis_or_skip
from tests.pool.test_state import REDIS_URL
from tests.web_stack import WebStack, web_stack


@pytest.fixture
def stack(tmp_path: Path) -> WebStack:  # type: ignore[misc]
    redis_or_skip()
    prefix = f"switchyard-test-{uuid.uuid4().hex[:8]}"
    try:
        with web_stack(tmp_path, redis_url=REDIS_URL, redis_prefix=prefix) as built:
            yield built
    finally:
        drop_prefix(prefix)


def test_a_request_answered_without_an_account_is_still_limited(stack: WebStack) -> None:
    """Red with `answers_locally` dropped from the route: the admission waited for a take that
    never came, and the key's rpm let every count through."""
    key = create_key(stack.settings, rpm=2)
    client = anthropic.Anthropic(base_url=stack.gateway + "/gemini_official", api_key=key, max_retries=0)
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


def test_parallel_takes_of_one_request_share_its_admission(stack: WebStack) -> None:
    key = create_key(stack.settings, rpm=1, max_concurrent=1)
    client = openai.OpenAI(base_url=stack.base_url, api_key=key, max_retries=0, timeout=60)
    try:
        result = client.images.generate(model="gemini-2.5-flash-imagen", prompt="two foxes", n=2)
        assert len(result.data or []) == 2  # one admission (rpm 1, one slot) for both images
        with pytest.raises(openai.RateLimitError, match="rate limit of 1 requests per minute"):
            client.images.generate(model="gemini-2.5-flash-imagen", prompt="two more", n=2)
        with pytest.raises(openai.RateLimitError, match="rate limit of 1 requests per minute"):
            client.chat.completions.create(
                model="gemini-2.5-flash", messages=[{"role": "user", "content": "and a chat"}]
            )
    finally:
        client.close()
