"""Incremental server-sent-events decoding over raw bytes, for the upstream stream (§5.2).

Upstream events are single `data:` lines that can be tens of megabytes (base64 images), end with
`\\n` or `\\r\\n`, and there is no `[DONE]`. The decoder works on bytes (no text decoding of the
whole line before JSON parsing needs it) and scans each received chunk once, so a 30 MB line arriving
in 64 KB chunks costs linear time, not quadratic.
"""

from __future__ import annotations


class SSEDecoder:
    """Feed it chunks; it returns the `data` payload of each completed event, as bytes."""

    def __init__(self) -> None:
        self._line = bytearray()
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[bytes]:
        """The events completed by `chunk` (possibly none)."""
        if self._line or self._data or b"\r" in chunk:
            return self._feed_lines(chunk)
        end = chunk.rfind(b"\n\n")
        if end < 0:
            return self._feed_lines(chunk)
        # The usual shape, and the per-chunk path: whole `data: <json>` events separated by blank
        # lines. They are split out in C; any other block takes the line-by-line way.
        whole = chunk[:end]
        if whole.startswith(b"data: "):
            events = whole[6:].split(b"\n\ndata: ")
            if whole.count(b"\n") == 2 * (len(events) - 1):  # no other line anywhere
                if end + 2 < len(chunk):
                    events += self._feed_lines(chunk[end + 2 :])
                return events
        events = []
        for block in whole.split(b"\n\n"):
            if block.startswith(b"data: ") and b"\n" not in block:
                events.append(block[6:])
            elif block:
                events += self._feed_lines(block + b"\n\n")
        events += self._feed_lines(chunk[end + 2 :])
        return events

    def _feed_lines(self, chunk: bytes) -> list[bytes]:
        events: list[bytes] = []
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            if end < 0:
                self._line += chunk[start:]
                return events
            if self._line:
                self._line += chunk[start:end]
                line = bytes(self._line)
                self._line.clear()
            else:
                line = chunk[start:end]
            self._take_line(line, events)
            start = end + 1

    def finish(self) -> list[bytes]:
        """Events still pending at the end of the body (a last event without its blank line)."""
        events: list[bytes] = []
        if self._line:
            self._take_line(bytes(self._line), events)
            self._line.clear()
        self._dispatch(events)
        return events

    def _take_line(self, line: bytes, events: list[bytes]) -> None:
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line:
            self._dispatch(events)
            return
        if line.startswith(b":"):
            return  # a comment (keep-alive)
        name, _, value = line.partition(b":")
        if name == b"data":
            self._data.append(value[1:] if value.startswith(b" ") else value)

    def _dispatch(self, events: list[bytes]) -> None:
        if self._data:
            events.append(self._data[0] if len(self._data) == 1 else b"\n".join(self._data))
            self._data = []
