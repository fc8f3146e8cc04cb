"""Center-cropping generated images to the exact aspect ratio the client asked for.

The upstream draws only ten ratios (1:1 … 21:9); api-contract.md promises any ratio, so the
translator asks for the nearest one and `translate.image_crop_ratio` says what to cut it down to
(5:3 is drawn as 16:9, 1376×768, and cropped to 1280×768). The image keeps its format. Decoding and
re-encoding a 4K image takes a few hundred milliseconds, so that work runs in a worker thread and
never stalls other streams on the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import logging
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from PIL import Image, UnidentifiedImageError

from switchyard.translate.b64 import decode_b64

log = logging.getLogger(__name__)
MAX_RATIO_TERM = 1000
"""Ratios are reduced to whole terms no larger than this (`1.85:1` → 37:20)."""

EXACT_CROP_MIN_KEEP = 0.98
"""An exact-multiple crop (width and height both multiples of the ratio's terms, so the ratio holds
to the pixel) is used while it keeps this share of the best rounded crop; ratios with large terms
(999:1000) fall back to rounding rather than cutting most of the picture away."""

JPEG_QUALITY = 95
Ratio = tuple[float, float]


def crop_box(width: int, height: int, ratio: Ratio) -> tuple[int, int, int, int]:
    """The centred (left, top, right, bottom) box of the largest `ratio` crop of a width×height image."""
    wanted = Fraction(ratio[0]).limit_denominator(MAX_RATIO_TERM) / Fraction(ratio[1]).limit_denominator(
        MAX_RATIO_TERM
    )
    if Fraction(width, height) > wanted:
        rounded = (max(1, round(height * wanted)), height)
    else:
        rounded = (width, max(1, round(width / wanted)))
    unit = min(width // wanted.numerator, height // wanted.denominator)
    exact = (unit * wanted.numerator, unit * wanted.denominator)
    new_width, new_height = exact if unit and exact[0] >= rounded[0] * EXACT_CROP_MIN_KEEP else rounded
    left, top = (width - new_width) // 2, (height - new_height) // 2
    return left, top, left + new_width, top + new_height


def crop_image(data: bytes, ratio: Ratio) -> bytes:
    """The image cropped to `ratio`, re-encoded in its own format (unchanged when it already fits)."""
    with Image.open(io.BytesIO(data)) as image:
        image_format = image.format or "PNG"
        box = crop_box(image.width, image.height, ratio)
        if box == (0, 0, image.width, image.height):
            return data
        cropped = image.crop(box)
    buffer = io.BytesIO()
    options: dict[str, Any] = {"quality": JPEG_QUALITY} if image_format in ("JPEG", "WEBP") else {}
    cropped.save(buffer, image_format, **options)
    return buffer.getvalue()


def _crop_b64(data_b64: str, ratio: Ratio) -> str:
    """Cropped base64; an image Pillow cannot read is passed on as the upstream sent it (the client
    still gets a picture, only not at the exact ratio), and the log says so."""
    try:
        return base64.b64encode(crop_image(decode_b64(data_b64), ratio)).decode("ascii")
    except (binascii.Error, UnidentifiedImageError, OSError, ValueError) as error:
        log.warning("could not crop a generated image to %g:%g: %s", ratio[0], ratio[1], error)
        return data_b64


async def crop_event_images(event: Mapping[str, Any], ratio: Ratio) -> None:
    """Crop, in place, every image an upstream event carries; thought drafts are never shown, so
    they are left alone."""
    for candidate in event.get("candidates") or ():
        for part in (candidate.get("content") or {}).get("parts") or ():
            inline = part.get("inlineData") or part.get("inline_data")
            if not isinstance(inline, dict) or part.get("thought"):
                continue
            mime = inline.get("mimeType") or inline.get("mime_type") or ""
            data = inline.get("data")
            if isinstance(data, str) and data and str(mime).startswith("image/"):
                inline["data"] = await asyncio.to_thread(_crop_b64, data, ratio)
