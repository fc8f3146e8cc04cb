"""MIME sniffing from leading bytes and data-URL parsing (no I/O)."""

from __future__ import annotations

import base64

import pytest

from switchyard.errors import InvalidRequest
from switchyard.translate import Media, media_from_data_url, sniff_mime
from switchyard.translate.media import b64_head, mime_from_extension, parse_data_url

PAD = b"\x00" * 32

SAMPLES = [
    (b"\x89PNG\r\n\x1a\n" + PAD, "image/png"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF" + PAD, "image/jpeg"),
    (b"GIF89a" + PAD, "image/gif"),
    (b"RIFF\x00\x00\x00\x00WEBPVP8 " + PAD, "image/webp"),
    (b"\x00\x00\x00\x18ftypheic" + PAD, "image/heic"),
    (b"\x00\x00\x00\x18ftypmif1" + PAD, "image/heif"),
    (b"RIFF\x00\x00\x00\x00WAVEfmt " + PAD, "audio/wav"),
    (b"ID3\x04\x00" + PAD, "audio/mpeg"),
    (b"\xff\xfb\x90\x64" + PAD, "audio/mpeg"),
    (b"\xff\xf1\x50\x80" + PAD, "audio/aac"),
    (b"OggS\x00\x02" + PAD, "audio/ogg"),
    (b"fLaC\x00\x00\x00\x22" + PAD, "audio/flac"),
    (b"\x00\x00\x00\x20ftypM4A " + PAD, "audio/mp4"),
    (b"\x00\x00\x00\x18ftypisom" + PAD, "video/mp4"),
    (b"\x00\x00\x00\x18ftypmp42" + PAD, "video/mp4"),
    (b"\x00\x00\x00\x14ftypqt  " + PAD, "video/quicktime"),
    (b"\x00\x00\x00\x08wide" + PAD, "video/quicktime"),
    (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm" + PAD, "video/webm"),
    (b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x88matroska" + PAD, "video/x-matroska"),
    (b"%PDF-1.4\n" + PAD, "application/pdf"),
    (b"hello world, plain text", None),
    (b"", None),
    (b"\xff", None),
]


@pytest.mark.parametrize(("data", "mime"), SAMPLES)
def test_sniff(data: bytes, mime: str | None) -> None:
    assert sniff_mime(data) == mime


@pytest.mark.parametrize(("data", "mime"), SAMPLES)
def test_sniff_from_base64_head_only(data: bytes, mime: str | None) -> None:
    encoded = base64.b64encode(data + b"\x01" * 10_000).decode()
    if data:
        assert sniff_mime(b64_head(encoded)) == mime
    assert len(b64_head(encoded)) <= 258
    urlsafe = base64.urlsafe_b64encode(data + b"\xfb\xff" * 100).decode()
    assert sniff_mime(b64_head(urlsafe)) == sniff_mime(data + b"\xfb\xff")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("data:image/png;base64,AAAA", ("image/png", "AAAA")),
        ("data:IMAGE/PNG;name=a.png;base64,AAAA", ("image/png", "AAAA")),
        ("data:,hi%21", ("", base64.b64encode(b"hi!").decode())),
    ],
)
def test_parse_data_url(url: str, expected: tuple[str, str]) -> None:
    assert parse_data_url(url, param="p") == expected


@pytest.mark.parametrize("url", ["data:image/png;base64", "data:image/png;base64,"])
def test_bad_data_urls(url: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_data_url(url, param="messages[0].content[0].image_url.url")
    assert caught.value.param == "messages[0].content[0].image_url.url"


def test_media_from_data_url_prefers_the_bytes_then_the_declared_type_then_the_name() -> None:
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + PAD).decode()
    assert media_from_data_url(f"data:image/jpeg;base64,{png}", param="p") == Media("image/png", png)
    assert media_from_data_url("data:audio/x-custom;base64,AAAA", param="p") == Media(
        "audio/x-custom", "AAAA"
    )
    assert (
        media_from_data_url("data:application/octet-stream;base64,AAAA", param="p", name="a.mp3").mime
        == "audio/mpeg"
    )


@pytest.mark.parametrize(
    ("name", "mime"),
    [
        ("a.PNG", "image/png"),
        ("https://x/y/clip.mov?sig=1#t", "video/quicktime"),
        ("noext", None),
        ("x.unknown", None),
        ("dir.d/file", None),
    ],
)
def test_mime_from_extension(name: str, mime: str | None) -> None:
    assert mime_from_extension(name) == mime
