"""Generated images for the image model (§8.6, §12.5): a JPEG of exactly the size `imageConfig` asks for.

Sizes follow the real models' tables: the 1K size per aspect ratio, halved for `512`, doubled for 2K
and quadrupled for 4K (so 4K 16:9 is 5504×3072, the size AGM#1819 users expected). The picture is a gradient whose colours
depend on the prompt, built at 256 px and scaled with nearest-neighbour (an 8-bit gradient has 256
steps anyway), so a 4K image costs a few hundred milliseconds. Image-to-image mirrors the input.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
from functools import lru_cache
from itertools import permutations

from PIL import Image, ImageOps, UnidentifiedImageError

from switchyard.emulators.cloudcode_errors import invalid_argument
from switchyard.emulators.cloudcode_signatures import decode_proto_bytes

BASE_SIZES_1K: dict[str, tuple[int, int]] = {
    "1:1": (1024, 1024),
    "2:3": (848, 1264),
    "3:2": (1264, 848),
    "3:4": (896, 1200),
    "4:3": (1200, 896),
    "4:5": (928, 1152),
    "5:4": (1152, 928),
    "9:16": (768, 1376),
    "16:9": (1376, 768),
    "21:9": (1584, 672),
    # Gemini 3.1 Flash Image only (Google's AspectRatio enum; §12.5).
    "1:4": (512, 2048),
    "4:1": (2048, 512),
    "1:8": (352, 2816),
    "8:1": (2816, 352),
}
SIZE_SCALES: dict[str, tuple[int, int]] = {"512": (1, 2), "1K": (1, 1), "2K": (2, 1), "4K": (4, 1)}
"""(numerator, denominator) applied to the 1K size: `512` is half of 1K."""
DEFAULT_ASPECT_RATIO = "1:1"
DEFAULT_IMAGE_SIZE = "1K"
JPEG_QUALITY = 85
OUTPUT_MIME_TYPE = "image/jpeg"
GRADIENT_SIDE = 256
INPUT_THUMBNAIL_SIDE = 512
CACHED_IMAGES = 8
CHANNEL_ORDERS = tuple(permutations(range(3)))
INVALID_INPUT_MESSAGE = (
    "Unable to process input image. Please retry or report in "
    "https://developers.generativeai.google/guide/troubleshooting"
)


def image_dimensions(aspect_ratio: str | None, image_size: str | None) -> tuple[int, int]:
    width, height = BASE_SIZES_1K[aspect_ratio or DEFAULT_ASPECT_RATIO]
    numerator, denominator = SIZE_SCALES[image_size or DEFAULT_IMAGE_SIZE]
    return width * numerator // denominator, height * numerator // denominator


def _encode(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


@lru_cache(maxsize=CACHED_IMAGES)
def gradient_jpeg(width: int, height: int, palette: int) -> bytes:
    """A prompt-coloured gradient; cached because benchmarks ask for the same image over and over."""
    horizontal = Image.linear_gradient("L").rotate(90)
    vertical = Image.linear_gradient("L")
    radial = Image.radial_gradient("L").resize((GRADIENT_SIDE, GRADIENT_SIDE))
    channels = (horizontal, vertical, radial)
    order = CHANNEL_ORDERS[palette % len(CHANNEL_ORDERS)]
    small = Image.merge("RGB", tuple(channels[i] for i in order))
    return _encode(small.resize((width, height), Image.Resampling.NEAREST))


def transformed_jpeg(source: bytes, width: int, height: int) -> bytes:
    """Image-to-image: the input, cropped to the asked ratio and mirrored, so tests can recognise it."""
    try:
        with Image.open(io.BytesIO(source)) as opened:
            picture = opened.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise invalid_argument(INVALID_INPUT_MESSAGE) from exc
    picture.thumbnail((INPUT_THUMBNAIL_SIDE, INPUT_THUMBNAIL_SIDE))
    scale = min(picture.width / width, picture.height / height)
    small_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    fitted = ImageOps.mirror(ImageOps.fit(picture, small_size))
    return _encode(fitted.resize((width, height), Image.Resampling.BILINEAR))


def render_image(
    prompt: str, aspect_ratio: str | None, image_size: str | None, source_b64: str | None
) -> str:
    """The base64 JPEG an image model answers with."""
    width, height = image_dimensions(aspect_ratio, image_size)
    if source_b64 is not None:
        try:
            source = decode_proto_bytes(source_b64)
        except (binascii.Error, ValueError) as exc:
            raise invalid_argument(INVALID_INPUT_MESSAGE) from exc
        data = transformed_jpeg(source, width, height)
    else:
        palette = hashlib.sha256(prompt.encode()).digest()[0]
        data = gradient_jpeg(width, height, palette)
    return base64.b64encode(data).decode()
