"""Downloading the http(s) media URLs of an OpenAI chat request, for both chat surfaces.

Data URLs need no download; every URL is fetched at once through the SSRF-safe `fetch.fetch_media`,
and the first refusal fails the request and cancels the other downloads.
"""

from __future__ import annotations

import asyncio
from typing import Any

from switchyard.fetch import fetch_media
from switchyard.runtime import Runtime
from switchyard.shared.context import RequestContext
from switchyard.translate import Media, media_urls


async def fetch_all_media(runtime: Runtime, ctx: RequestContext, body: dict[str, Any]) -> dict[str, Media]:
    """Download every http(s) media URL of the request at once; the first refusal fails the request
    and cancels the other downloads."""
    return await fetch_urls(runtime, ctx, media_urls(body))


async def fetch_urls(runtime: Runtime, ctx: RequestContext, urls: list[str]) -> dict[str, Media]:
    """Download these http(s) media URLs at once (any surface's request), as `fetch_all_media` does.
    The key's admission is confirmed first: a refused request downloads nothing."""
    if not urls:
        return {}
    if ctx.lease is not None:
        await ctx.lease.confirm()
    client, settings = runtime.media_client, runtime.settings
    if client is None:
        raise RuntimeError("the media client is not ready")
    try:
        async with asyncio.TaskGroup() as group:
            tasks = {
                url: group.create_task(
                    fetch_media(
                        url,
                        client=client,
                        max_bytes=settings.media_max_bytes,
                        timeout_s=settings.media_fetch_timeout_s,
                        allow_hosts=settings.media_allow_hosts,
                        param="messages",
                    )
                )
                for url in urls
            }
    except BaseExceptionGroup as failures:
        raise _first_leaf(failures) from None
    return {url: task.result() for url, task in tasks.items()}


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first
