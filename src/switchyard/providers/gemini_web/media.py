"""Generated images and videos, downloaded through the account's own session.

Google's media URLs need the account's cookies and the Gemini referer and expire quickly, so they
are useless to a client: the provider downloads the bytes while it still holds the session, and
the surfaces hand them out (data URLs or the gateway's signed URLs).

Images: the default is the 1024 px preview (no visible watermark); `full_size=True` follows the
web app's "download full size" flow (`GeneratedImage.save(full_size=True)`: the c8o8Fe RPC and the
text hops), which yields the larger original carrying the visible watermark.
"""

from __future__ import annotations

import asyncio
import base64
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curl_cffi.requests import AsyncSession
from gemini_webapi.constants import Headers
from gemini_webapi.types import GeneratedImage

from switchyard.errors import UpstreamTransient
from switchyard.translate.media import sniff_mime

RENDER_POLL_S = 1.0


@dataclass(frozen=True)
class Blob:
    mime: str
    data: bytes

    @property
    def data_b64(self) -> str:
        return base64.b64encode(self.data).decode()


def generated_images(output: Any) -> list[GeneratedImage]:
    """The images the model generated (web search images are links, not answers)."""
    return [image for image in output.images if isinstance(image, GeneratedImage)]


async def download_images(images: list[GeneratedImage], live: AsyncSession, *, full_size: bool) -> list[Blob]:
    blobs = []
    with tempfile.TemporaryDirectory(prefix="switchyard-web-img-") as folder:
        for index, image in enumerate(images):
            try:
                saved = await image.save(
                    path=folder, filename=f"image{index}", client=live, full_size=full_size
                )
            except Exception as exc:
                raise UpstreamTransient(
                    f"Downloading a generated image from Gemini web failed ({exc})"
                ) from None
            data = await asyncio.to_thread(Path(saved).read_bytes)
            blobs.append(Blob(sniff_mime(data[:64]) or "image/png", data))
    return blobs


async def download_video(url: str, live: AsyncSession, *, timeout_s: float) -> Blob:
    """The rendered video; Google answers 206 while Veo is still rendering, so poll until 200."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        response = await live.get(url, headers=Headers.REFERER.value)
        if response.status_code == 200:
            data = response.content
            return Blob(sniff_mime(data[:64]) or "video/mp4", data)
        if response.status_code != 206:
            raise UpstreamTransient(f"Downloading the generated video failed (HTTP {response.status_code})")
        if loop.time() > deadline:
            raise UpstreamTransient(f"The generated video was still rendering after {timeout_s:g} s")
        await asyncio.sleep(RENDER_POLL_S)
