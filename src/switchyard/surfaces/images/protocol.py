"""The OpenAI images requests on the wire: JSON or `multipart/form-data` (generations), multipart
(edits, one or more `image[]`/`image` files). Parsed into one `ImageRequest`, with OpenAI's wording
and `param` for every refusal."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.datastructures import UploadFile
from starlette.requests import Request

from switchyard.errors import InvalidRequest, PayloadTooLarge
from switchyard.providers.gemini_web.prompt import WebFile
from switchyard.surfaces import json_body
from switchyard.surfaces.body import limited, read_body
from switchyard.translate.media import base_mime, sniff_mime

MAX_IMAGES = 4
MAX_SIDE = 8192
_SIZE = re.compile(r"^\s*(\d{1,5})\s*[xX×]\s*(\d{1,5})\s*$")
RESPONSE_FORMATS = ("b64_json", "url")
_MIME = re.compile(r"[\w.+-]+/[\w.+-]+", re.ASCII)


@dataclass
class ImageRequest:
    prompt: str
    model: str
    n: int = 1
    size: tuple[int, int] | None = None
    response_format: str = "b64_json"
    return_origin_image: bool = False
    images: list[WebFile] = field(default_factory=list)


async def parse(request: Request, *, edits: bool, max_bytes: int, max_body_bytes: int) -> ImageRequest:
    """The request, each image at most `max_bytes` and the whole body at most `max_body_bytes`."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data") or content_type.startswith(
        "application/x-www-form-urlencoded"
    ):
        fields, images = await _form(limited(request, max_body_bytes), max_bytes)
    elif edits:
        raise InvalidRequest(
            "Image edits take multipart/form-data with one or more 'image' files.", param="image"
        )
    else:
        fields, images = _json(await read_body(request, max_body_bytes)), []
    if edits and not images:
        raise InvalidRequest(
            "Missing required parameter: 'image' (send one or more image[] files).", param="image"
        )
    return ImageRequest(
        prompt=_required(fields, "prompt"),
        model=_required(fields, "model"),
        n=_n(fields.get("n")),
        size=_size(fields.get("size")),
        response_format=_response_format(fields.get("response_format")),
        return_origin_image=_flag(fields.get("return_origin_image"), "return_origin_image"),
        images=images,
    )


def _json(raw: bytearray) -> dict[str, Any]:
    try:
        body = json_body.loads(raw) if raw.strip() else None
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"We could not parse the JSON body of your request: {exc}.") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object (or multipart/form-data).")
    return body


async def _form(request: Request, max_bytes: int) -> tuple[dict[str, Any], list[WebFile]]:
    fields: dict[str, Any] = {}
    images: list[WebFile] = []
    async with request.form(max_files=16) as form:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                if name not in ("image", "image[]"):
                    continue
                data = await value.read()
                if len(data) > max_bytes:
                    raise PayloadTooLarge(
                        f"Image file {value.filename!r} is over {max_bytes} bytes.", param="image"
                    )
                mime = sniff_mime(data[:64]) or base_mime(value.content_type)
                if not _MIME.fullmatch(mime):
                    raise InvalidRequest(
                        f"Invalid Content-Type for image file {value.filename!r}: {mime!r}.", param="image"
                    )
                if not mime.startswith("image/"):
                    raise InvalidRequest(f"'{value.filename}' is not an image ({mime}).", param="image")
                images.append(WebFile(f"image{len(images) + 1}.{mime.split('/')[1]}", mime, data))
            else:
                fields[name] = value
    return fields, images


def _required(fields: dict[str, Any], name: str) -> str:
    value = fields.get(name)
    if value is None or value == "":
        raise InvalidRequest(
            f"Missing required parameter: '{name}'.", param=name, code="missing_required_parameter"
        )
    if not isinstance(value, str):
        raise InvalidRequest(
            f"Invalid type for '{name}': expected a string.", param=name, code="invalid_type"
        )
    return value


def _n(value: Any) -> int:
    if value is None or value == "":
        return 1
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise InvalidRequest("Invalid value for 'n': expected an integer.", param="n") from None
    if not 1 <= n <= MAX_IMAGES:
        raise InvalidRequest(f"Invalid value for 'n': {n}; must be between 1 and {MAX_IMAGES}.", param="n")
    return n


def _size(value: Any) -> tuple[int, int] | None:
    if value is None or value in ("", "auto"):
        return None
    match = _SIZE.match(str(value))
    if not match:
        raise InvalidRequest(
            f"Invalid value for 'size': {value!r}; use WIDTHxHEIGHT, e.g. 1920x1080.", param="size"
        )
    width, height = int(match.group(1)), int(match.group(2))
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        raise InvalidRequest(
            f"Invalid value for 'size': each side must be 1..{MAX_SIDE} pixels.", param="size"
        )
    return width, height


def _response_format(value: Any) -> str:
    if value is None or value == "":
        return "b64_json"
    if value not in RESPONSE_FORMATS:
        raise InvalidRequest(
            f"Invalid value for 'response_format': {value!r}; use 'b64_json' or 'url'.",
            param="response_format",
        )
    return str(value)


def _flag(value: Any, name: str) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off", ""):
        return False
    raise InvalidRequest(f"Invalid value for '{name}': expected a boolean.", param=name)
