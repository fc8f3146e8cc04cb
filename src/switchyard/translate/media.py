"""Media helpers with no I/O: data URLs, MIME sniffing from leading bytes, extension tables.

Why sniff at all: clients label media badly (`data:application/octet-stream`, a PNG sent as
`image/jpeg`, audio and video sent through `image_url` as the contract allows), and the upstream
routes a part by its `mimeType`. The first few hundred bytes say what a file really is, and
decoding only those keeps a multi-megabyte base64 payload from being decoded or copied twice.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

from switchyard.errors import InvalidRequest
from switchyard.translate.b64 import standard_alphabet

SNIFF_BYTES = 258
"""How many decoded bytes the sniffer looks at (344 base64 characters); enough for EBML doctypes."""

GENERIC_MIME_TYPES = frozenset(
    {"", "application/octet-stream", "binary/octet-stream", "application/unknown", "application/binary"}
)
"""Declared types that say nothing, so the bytes (or the URL's extension) must decide."""

AUDIO_FORMAT_MIME = {
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "mpeg": "audio/mpeg",
    "ogg": "audio/ogg",
    "opus": "audio/ogg",
    "flac": "audio/flac",
    "aac": "audio/aac",
    "m4a": "audio/mp4",
    "mp4": "audio/mp4",
    "webm": "audio/webm",
    "pcm16": "audio/pcm",
    "pcm": "audio/pcm",
    "aiff": "audio/aiff",
}
"""`input_audio.format` → MIME (protocols/antigravity.md §8.1: wav default, mp3→audio/mpeg, pcm16→audio/pcm)."""

EXTENSION_MIME = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "heic": "image/heic",
    "heif": "image/heif",
    "avif": "image/avif",
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "ogg": "audio/ogg",
    "oga": "audio/ogg",
    "opus": "audio/ogg",
    "flac": "audio/flac",
    "aac": "audio/aac",
    "m4a": "audio/mp4",
    "aiff": "audio/aiff",
    "mp4": "video/mp4",
    "m4v": "video/mp4",
    "mov": "video/quicktime",
    "webm": "video/webm",
    "mkv": "video/x-matroska",
    "avi": "video/x-msvideo",
    "mpeg": "video/mpeg",
    "mpg": "video/mpeg",
    "3gp": "video/3gpp",
    "pdf": "application/pdf",
    "txt": "text/plain",
    "md": "text/markdown",
    "csv": "text/csv",
    "html": "text/html",
    "htm": "text/html",
    "xml": "text/xml",
    "json": "application/json",
    "py": "text/x-python",
    "js": "text/javascript",
    "rtf": "text/rtf",
}
"""File extension → MIME: the last resort for `file.filename` and media URLs (no `mimetypes`, whose
table depends on the host's /etc/mime.types)."""

_FTYP_BRANDS = {
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"hevc": "image/heic",
    b"hevx": "image/heic",
    b"heim": "image/heic",
    b"heis": "image/heic",
    b"mif1": "image/heif",
    b"msf1": "image/heif",
    b"avif": "image/avif",
    b"avis": "image/avif",
    b"M4A ": "audio/mp4",
    b"M4B ": "audio/mp4",
    b"M4P ": "audio/mp4",
    b"qt  ": "video/quicktime",
    b"3gp4": "video/3gpp",
    b"3gp5": "video/3gpp",
    b"3gp6": "video/3gpp",
    b"3g2a": "video/3gpp2",
}
"""ISO base media `ftyp` major brands that are not plain MP4 video (anything else with `ftyp` is)."""


@dataclass(frozen=True, slots=True)
class Media:
    """One piece of media as the upstream wants it: a MIME type and standard base64 data."""

    mime: str
    data_b64: str

    def to_inline_data(self) -> dict[str, Any]:
        """The canonical Gemini part for this media."""
        return {"inlineData": {"mimeType": self.mime, "data": self.data_b64}}


def sniff_mime(head: bytes) -> str | None:
    """The MIME type the leading bytes prove, or None. Only signatures that cannot be text."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"RIFF") and len(head) >= 12:
        return {b"WEBP": "image/webp", b"WAVE": "audio/wav", b"AVI ": "video/x-msvideo"}.get(head[8:12])
    if head.startswith(b"FORM") and head[8:12] in (b"AIFF", b"AIFC"):
        return "audio/aiff"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if head.startswith(b"ID3"):
        return "audio/mpeg"
    if head[4:8] == b"ftyp":
        return _FTYP_BRANDS.get(head[8:12], "video/mp4")
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"):
        return "video/quicktime"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm" if b"webm" in head[:64] else "video/x-matroska"
    if head.startswith((b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3")):
        return "video/mpeg"
    return _sniff_mpeg_audio(head)


def _sniff_mpeg_audio(head: bytes) -> str | None:
    """MPEG audio frame sync: layer bits 00 is an AAC ADTS header, anything else an MP3 frame."""
    if len(head) < 2 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return None
    if head[1] & 0x06 == 0:
        return "audio/aac" if head[1] & 0xF0 == 0xF0 else None
    return "audio/mpeg"


def b64_head(data_b64: str) -> bytes:
    """Decode only the first `SNIFF_BYTES` bytes of a base64 string (standard or URL-safe)."""
    chunk = data_b64[:344].strip()
    if "-" in chunk or "_" in chunk:
        chunk = chunk.replace("-", "+").replace("_", "/")
    chunk = chunk[: len(chunk) - len(chunk) % 4]
    try:
        return binascii.a2b_base64(chunk)
    except binascii.Error:
        return b""


def sniff_b64(data_b64: str) -> str | None:
    """`sniff_mime` on base64 data, decoding only its head."""
    return sniff_mime(b64_head(data_b64))


def mime_from_extension(name: str) -> str | None:
    """The MIME type for a file name or URL path by its extension, ignoring queries and fragments."""
    path = name.split("?", 1)[0].split("#", 1)[0]
    stem = path.rsplit("/", 1)[-1]
    if "." not in stem:
        return None
    return EXTENSION_MIME.get(stem.rsplit(".", 1)[1].lower())


def base_mime(content_type: str | None) -> str:
    """`image/png; charset=x` → `image/png`, lower-cased; '' for None."""
    if not content_type:
        return ""
    return content_type.split(";", 1)[0].strip().lower()


def is_data_url(url: str) -> bool:
    return url[:5].lower() == "data:"


def parse_data_url(url: str, *, param: str) -> tuple[str, str]:
    """Split `data:<mime>[;...][;base64],<payload>` into (declared mime, base64 data).

    Non-base64 data URLs (percent-encoded text) are re-encoded to base64, since that is the only
    form the upstream accepts. `param` names the request field in the error.
    """
    header, sep, payload = url.partition(",")
    if not sep:
        raise InvalidRequest(f"{param} is not a valid data URL (no ',' separator)", param=param)
    fields = header[5:].split(";")
    mime = fields[0].strip().lower()
    if any(field.strip().lower() == "base64" for field in fields[1:]):
        if not payload:
            raise InvalidRequest(f"{param} is an empty data URL", param=param)
        return mime, standard_alphabet(payload)
    return mime, base64.b64encode(unquote_to_bytes(payload)).decode("ascii")


def resolve_mime(declared: str, data_b64: str, *, name: str | None = None) -> str | None:
    """The best MIME for base64 data: the bytes first, then a specific declared type, then the name."""
    sniffed = sniff_b64(data_b64)
    if sniffed is not None:
        return sniffed
    declared = base_mime(declared)
    if declared not in GENERIC_MIME_TYPES:
        return declared
    if name:
        return mime_from_extension(name)
    return None


def media_from_data_url(url: str, *, param: str, name: str | None = None) -> Media:
    """A `Media` from a data URL; raises `InvalidRequest` when the type cannot be told."""
    declared, data_b64 = parse_data_url(url, param=param)
    mime = resolve_mime(declared, data_b64, name=name)
    if mime is None:
        raise InvalidRequest(
            f"cannot tell the media type of {param}; use a specific data: URL type", param=param
        )
    return Media(mime, data_b64)
