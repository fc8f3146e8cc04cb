"""OpenAI images (generations and edits) on Gemini web image generation ("Nano Banana").

The web app has no image endpoint: each image is one web turn whose prompt asks for an image
(edits upload the source images first), on whichever account the pool picks. Gemini decides how
many images a turn yields, so `n` runs one turn per image. It has no size parameter either
(field-notes 12: a size that is silently ignored is the complaint users have), so the requested
aspect ratio is hinted in the prompt and the result is then scaled and centre-cropped to exactly
`size` (Pillow). The default is the 1K preview; `return_origin_image` downloads the original,
larger image with Google's visible watermark. `revised_prompt` is the model's accompanying text,
without the gateway's own wording (the image-tool request and the size hint), which models echo,
and without the web app's placeholder links.
"""

from __future__ import annotations

import asyncio
import base64
import io
import math
import re
import time
from typing import Any

from PIL import Image
from starlette.responses import Response

from switchyard.errors import InvalidRequest, UpstreamBadRequest
from switchyard.pool import failover
from switchyard.providers import UpstreamAccount
from switchyard.providers.gemini_web.client import IMAGE_PROMPT, WebTurn
from switchyard.providers.gemini_web.models import WebModel
from switchyard.runtime import Runtime
from switchyard.surfaces.context import RequestContext
from switchyard.surfaces.images.protocol import ImageRequest
from switchyard.surfaces.responses import json_response
from switchyard.surfaces.webchat.common import model_headers, provider, served_headers
from switchyard.translate.b64 import decode_b64

Event = dict[str, Any]
PLACEHOLDER = re.compile(r"https?://googleusercontent\.com/\S+")


def check_model(model: WebModel) -> None:
    if "imagen" not in model.capabilities:
        raise InvalidRequest(
            f"'{model.public_id}' does not generate images; use an -imagen model, e.g. {model.base}-imagen.",
            param="model",
        )


async def generate(
    runtime: Runtime, ctx: RequestContext, request: ImageRequest, model: WebModel, base_url: str
) -> Response:
    """One image per turn, `n` turns at once; each turn fails over on its own."""
    prompt = _prompt(request)
    turn = WebTurn(prompt, model, list(request.images), full_size_images=request.return_origin_image)
    web = provider(runtime)

    async def one(account: UpstreamAccount) -> list[Event]:
        return [event async for event in web.stream(account, turn)]

    answers = await asyncio.gather(
        *(
            failover.run_unary(runtime.pool, ctx, model.family, one, avoid=web.unfit_accounts(model))
            for _ in range(request.n)
        )
    )
    data = [_entry(runtime, request, answer, base_url) for answer in answers]
    ctx.set_usage(max(1, len(prompt) // 4), 0, 0)
    headers = {**model_headers(model), **served_headers(event for answer in answers for event in answer)}
    return json_response({"created": int(time.time()), "data": data}, headers=headers)


def _prompt(request: ImageRequest) -> str:
    return request.prompt + _size_hint(request)


def _size_hint(request: ImageRequest) -> str:
    if request.size is None:
        return ""
    width, height = request.size
    divisor = math.gcd(width, height)
    return f"\n\n(Aspect ratio {width // divisor}:{height // divisor}, {width}x{height} pixels.)"


def _revised(text: str, request: ImageRequest) -> str:
    """What the model said about the image: its text without our wrapper and the placeholders."""
    for ours in (IMAGE_PROMPT, _size_hint(request)):
        words = ours.split()
        if words:
            text = re.sub(r"\s*" + r"\s+".join(re.escape(w) for w in words), "", text)
    return " ".join(PLACEHOLDER.sub("", text).split())


def _entry(runtime: Runtime, request: ImageRequest, events: list[Event], base_url: str) -> dict[str, Any]:
    texts: list[str] = []
    image: bytes | None = None
    for event in events:
        for candidate in event.get("candidates") or ():
            for part in (candidate.get("content") or {}).get("parts") or ():
                if part.get("thought"):
                    continue
                if part.get("text"):
                    texts.append(part["text"])
                inline = part.get("inlineData")
                if inline is not None and image is None and inline["mimeType"].startswith("image/"):
                    image = decode_b64(inline["data"])
    revised = _revised("".join(texts), request)
    if image is None:
        raise UpstreamBadRequest(f"Gemini web answered without an image: {revised[:300] or '(no text)'}")
    mime = "image/png"
    if request.size is not None:
        image = fit(image, request.size)
    elif not image.startswith(b"\x89PNG"):
        mime = "image/jpeg"
    entry: dict[str, Any] = {"revised_prompt": revised}
    files = provider(runtime).files
    if request.response_format == "url" and files is not None:
        entry["url"] = files.url(base_url, image, mime)
    else:
        entry["b64_json"] = base64.b64encode(image).decode()
    return entry


def fit(data: bytes, size: tuple[int, int]) -> bytes:
    """The image scaled to cover `size`, centre-cropped to exactly `size`, as PNG."""
    width, height = size
    with Image.open(io.BytesIO(data)) as source:
        picture = source.convert("RGB")
    scale = max(width / picture.width, height / picture.height)
    scaled = picture.resize(
        (max(width, round(picture.width * scale)), max(height, round(picture.height * scale))),
        Image.Resampling.LANCZOS,
    )
    left, top = (scaled.width - width) // 2, (scaled.height - height) // 2
    output = io.BytesIO()
    scaled.crop((left, top, left + width, top + height)).save(output, format="PNG")
    return output.getvalue()
