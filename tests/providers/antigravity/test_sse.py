"""The upstream SSE decoder: any chunking, either line ending, huge lines (protocols §5.2)."""

from __future__ import annotations

import pytest

from switchyard.providers.antigravity.sse import SSEDecoder

STREAM = (
    b'data: {"response":{"n":1},"traceId":"a"}\r\n\r\n'
    b": keep-alive\n\n"
    b'data: {"response":{"n":2},"traceId":"a"}\n\n'
    b'event: message\ndata: {"part":1,\ndata: "x":2}\n\n'
    b'data:{"response":{"n":3}}\n'
)
EXPECTED = [
    b'{"response":{"n":1},"traceId":"a"}',
    b'{"response":{"n":2},"traceId":"a"}',
    b'{"part":1,\n"x":2}',
    b'{"response":{"n":3}}',
]


def decode(chunks: list[bytes]) -> list[bytes]:
    decoder = SSEDecoder()
    events = [event for chunk in chunks for event in decoder.feed(chunk)]
    return events + decoder.finish()


def test_whole_stream() -> None:
    assert decode([STREAM]) == EXPECTED


@pytest.mark.parametrize("split", range(1, len(STREAM)))
def test_every_split_point(split: int) -> None:
    assert decode([STREAM[:split], STREAM[split:]]) == EXPECTED


LF_STREAM = (
    b'data: {"response":{"n":1},"traceId":"a"}\n\n'
    b'data: {"response":{"n":2}}\n\n\n'
    b": keep-alive\n\n"
    b'data:{"response":{"n":3}}\n\n'
    b'data: {"a":\ndata: 1}\n\n'
    b'event: x\ndata: {"n":4}\n\n'
    b'data: {"n":5}\n'
)
LF_EXPECTED = [
    b'{"response":{"n":1},"traceId":"a"}',
    b'{"response":{"n":2}}',
    b'{"response":{"n":3}}',
    b'{"a":\n1}',
    b'{"n":4}',
    b'{"n":5}',
]


@pytest.mark.parametrize("split", range(1, len(LF_STREAM)))
def test_every_split_point_of_a_stream_of_plain_newlines(split: int) -> None:
    assert decode([LF_STREAM[:split], LF_STREAM[split:]]) == LF_EXPECTED
    assert decode([LF_STREAM[:split], LF_STREAM[split : split + 7], LF_STREAM[split + 7 :]]) == LF_EXPECTED


def test_byte_by_byte() -> None:
    assert decode([STREAM[i : i + 1] for i in range(len(STREAM))]) == EXPECTED


def test_events_are_returned_as_soon_as_complete() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b'data: {"a":1}\n') == []
    assert decoder.feed(b"\n") == [b'{"a":1}']


def test_a_line_of_tens_of_megabytes_in_small_chunks() -> None:
    payload = b'{"data":"' + b"A" * (24 * 1024 * 1024) + b'"}'
    raw = b"data: " + payload + b"\r\n\r\n"
    chunk = 64 * 1024
    assert decode([raw[i : i + chunk] for i in range(0, len(raw), chunk)]) == [payload]
