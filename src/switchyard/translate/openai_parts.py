"""OpenAI message content parts → Gemini parts (protocols/antigravity.md §8.1).

Media arrive as data URLs or base64 (decoded here only far enough to sniff the type) or as
http(s) URLs, which the surface downloads with `fetch.py` *before* translating and passes in as
`resolved_media`; translation itself never does I/O. `media_urls` lists the URLs to download.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from switchyard.errors import InvalidRequest
from switchyard.translate.fields import wrong_type
from switchyard.translate.media import (
    AUDIO_FORMAT_MIME,
    Media,
    b64_head,
    is_data_url,
    media_from_data_url,
    resolve_mime,
    sniff_b64,
)

MEDIA_URL_PARTS = ("image_url", "video_url", "audio_url")
"""Part types whose payload is `{"url": ...}` (or a bare URL string); any of them may carry any media."""


def is_http_url(url: str) -> bool:
    return url[:7].lower() == "http://" or url[:8].lower() == "https://"


def text_parts(content: Any, *, param: str) -> list[dict[str, Any]]:
    """Content that may only hold text (system, developer, tool messages)."""
    if isinstance(content, str):
        return [{"text": content}] if content else []
    if not isinstance(content, list):
        raise wrong_type(param, "a string or an array of text parts", content)
    parts = []
    for index, item in enumerate(content):
        if isinstance(item, str):
            parts.append({"text": item})
            continue
        if not isinstance(item, dict) or item.get("type") != "text" or not isinstance(item.get("text"), str):
            raise InvalidRequest(f"'{param}[{index}]' must be a text part here", param=f"{param}[{index}]")
        parts.append({"text": item["text"]})
    return parts


def content_parts(content: Any, *, param: str, resolved_media: Mapping[str, Media]) -> list[dict[str, Any]]:
    """User or assistant content (a string or an array of parts) → Gemini parts."""
    if isinstance(content, str):
        return [{"text": content}]
    if not isinstance(content, list):
        raise wrong_type(param, "a string or an array of content parts", content)
    return [
        _part(item, param=f"{param}[{index}]", resolved_media=resolved_media)
        for index, item in enumerate(content)
    ]


def _part(item: Any, *, param: str, resolved_media: Mapping[str, Media]) -> dict[str, Any]:
    if isinstance(item, str):
        return {"text": item}
    if not isinstance(item, dict):
        raise wrong_type(param, "an object", item)
    kind = item.get("type")
    if kind in ("text", "refusal"):
        text = item.get(kind)
        if not isinstance(text, str):
            raise wrong_type(f"{param}.{kind}", "a string", text)
        return {"text": text}
    if kind in MEDIA_URL_PARTS:
        payload = item.get(kind)
        url = payload.get("url") if isinstance(payload, dict) else payload
        if not isinstance(url, str) or not url:
            raise InvalidRequest(
                f"'{param}.{kind}.url' must be a non-empty string", param=f"{param}.{kind}.url"
            )
        return _url_media(url, param=f"{param}.{kind}.url", resolved_media=resolved_media).to_inline_data()
    if kind == "input_audio":
        return _input_audio(
            item.get("input_audio"), param=f"{param}.input_audio", resolved_media=resolved_media
        )
    if kind == "file":
        return _file(item.get("file"), param=f"{param}.file")
    raise InvalidRequest(f"Unsupported content part type '{kind}'", param=f"{param}.type")


def _url_media(url: str, *, param: str, resolved_media: Mapping[str, Media]) -> Media:
    if is_data_url(url):
        return media_from_data_url(url, param=param)
    if is_http_url(url):
        media = resolved_media.get(url)
        if media is None:
            raise InvalidRequest(f"The media URL in '{param}' could not be fetched", param=param)
        return media
    scheme = url.split(":", 1)[0] if ":" in url else "(none)"
    raise InvalidRequest(
        f"Unsupported URL scheme '{scheme}' in '{param}': use http(s) or a data: URL", param=param
    )


def _input_audio(payload: Any, *, param: str, resolved_media: Mapping[str, Media]) -> dict[str, Any]:
    """`{data, format}`: the bytes decide when they can, then `format` (wav when absent, §8.1)."""
    if not isinstance(payload, dict):
        raise wrong_type(param, "an object", payload)
    data = payload.get("data")
    if not isinstance(data, str) or not data:
        raise InvalidRequest(f"'{param}.data' must be non-empty base64 audio", param=f"{param}.data")
    if is_data_url(data) or is_http_url(data):
        return _url_media(data, param=f"{param}.data", resolved_media=resolved_media).to_inline_data()
    audio_format = payload.get("format") or "wav"
    if not isinstance(audio_format, str) or audio_format.lower() not in AUDIO_FORMAT_MIME:
        raise InvalidRequest(
            f"Unsupported '{param}.format' {audio_format!r}: use one of {', '.join(sorted(AUDIO_FORMAT_MIME))}",
            param=f"{param}.format",
        )
    sniffed = sniff_b64(data)
    if sniffed is not None and sniffed.startswith("video/"):
        sniffed = "audio/" + sniffed.split("/", 1)[1] if sniffed in ("video/webm", "video/mp4") else None
    return Media(sniffed or AUDIO_FORMAT_MIME[audio_format.lower()], data).to_inline_data()


def _file(payload: Any, *, param: str) -> dict[str, Any]:
    """`{file_data, filename}`: file_data is a data URL or bare base64; `file_id` needs a Files API we lack."""
    if not isinstance(payload, dict):
        raise wrong_type(param, "an object", payload)
    filename = payload.get("filename") if isinstance(payload.get("filename"), str) else None
    data = payload.get("file_data")
    if data is None and payload.get("file_id") is not None:
        raise InvalidRequest(
            "'file_id' is not supported; send the file inline as 'file_data'", param=f"{param}.file_id"
        )
    if not isinstance(data, str) or not data:
        raise InvalidRequest(f"'{param}.file_data' must be a data URL or base64", param=f"{param}.file_data")
    if is_data_url(data):
        return media_from_data_url(data, param=f"{param}.file_data", name=filename).to_inline_data()
    mime = resolve_mime("", data, name=filename) or _text_or_none(data)
    if mime is None:
        raise InvalidRequest(
            f"Cannot tell the type of '{param}.file_data'; give a filename with an extension or a data: URL",
            param=f"{param}.file_data",
        )
    return Media(mime, data).to_inline_data()


def _text_or_none(data_b64: str) -> str | None:
    """`text/plain` when the head of the data decodes as UTF-8 text (logs, source files)."""
    head = b64_head(data_b64)
    if not head:
        return None
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        # The head may end inside a multi-byte character; retry without the last 3 bytes.
        try:
            head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return None
    return "text/plain" if b"\x00" not in head else None


def media_urls(body: Mapping[str, Any]) -> list[str]:
    """Every http(s) media URL in the request, in order, without duplicates: what to fetch first.

    Lenient on shape: malformed messages are reported by `to_gemini_request`, not here.
    """
    return list(dict.fromkeys(_walk_urls(body)))


def _walk_urls(body: Mapping[str, Any]) -> Iterator[str]:
    messages = body.get("messages")
    if not isinstance(messages, list):
        return
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            continue
        for item in content:
            if not isinstance(item, dict):
                continue
            kind = item.get("type")
            payload = item.get(kind) if isinstance(kind, str) else None
            if kind in MEDIA_URL_PARTS:
                url = payload.get("url") if isinstance(payload, dict) else payload
            elif kind == "input_audio" and isinstance(payload, dict):
                url = payload.get("data")
            else:
                continue
            if isinstance(url, str) and is_http_url(url):
                yield url
