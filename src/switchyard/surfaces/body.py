"""Reading request bodies without holding them twice.

Starlette's `request.body()` collects the chunks in a list, joins them (two copies at the peak) and
keeps the result cached for the whole request. Bodies here can carry tens of megabytes of base64
media, which are parsed once and then sent upstream re-serialised, so the raw bytes are read into
one growing buffer and dropped as soon as they are parsed (field-notes §9: memory per request).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import Message

from switchyard.errors import PayloadTooLarge


async def read_body(request: Request, max_bytes: int) -> bytearray:
    """The whole body in one buffer, sized from Content-Length when the client sent one (growing
    a buffer chunk by chunk reallocates it); 413 as soon as it passes `max_bytes`."""
    declared = request.headers.get("content-length")
    expected = int(declared) if declared is not None and declared.isdigit() else None
    if expected is not None and expected > max_bytes:
        raise _too_large(expected, max_bytes)
    buffer = bytearray(expected or 0)
    filled = 0
    async for chunk in request.stream():
        end = filled + len(chunk)
        if end > max_bytes:
            raise _too_large(end, max_bytes)
        if end <= len(buffer):
            buffer[filled:end] = chunk
        else:
            del buffer[filled:]
            buffer += chunk
        filled = end
    del buffer[filled:]
    return buffer


def limited(request: Request, max_bytes: int) -> Request:
    """The request, its body refused with 413 past `max_bytes`: up front when Content-Length says so,
    else as soon as the chunks received pass it (for parsers that read the stream themselves, such
    as Starlette's multipart parser)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(int(declared), max_bytes)
    received = 0

    async def receive() -> Message:
        nonlocal received
        message = await request.receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > max_bytes:
                raise _too_large(received, max_bytes)
        return message

    return Request(request.scope, receive)


def _too_large(size: int, max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The request body is larger than this gateway accepts ({size:,} > {max_bytes:,} bytes); "
        "send smaller media, or ask the operator to raise SWITCHYARD_MAX_REQUEST_BYTES.",
        code="request_too_large",
    )
