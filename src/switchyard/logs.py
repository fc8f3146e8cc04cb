"""Structured logging with secrets redacted.

Every record goes through `RedactingFilter`, which masks anything shaped like a credential we
handle (client keys, Google tokens, cookies) so that a secret that slips into a message or an
exception still never reaches the log.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import threading
from typing import Any

import orjson

SECRET_PATTERNS = (
    r"sk-sy-[A-Za-z0-9_-]{8,}",
    r"ya29\.[A-Za-z0-9_.-]{8,}",
    r"1//0[A-Za-z0-9_-]{8,}",
    r"GOCSPX-[A-Za-z0-9_-]{6,}",
    r"g\.a000[A-Za-z0-9_-]{8,}",
    r"sidts-[A-Za-z0-9_-]{8,}",
    r"(?i:(bearer\s+))[A-Za-z0-9_.~+/=-]{12,}",
)
_SECRETS = re.compile("|".join(SECRET_PATTERNS))
"""One pass over each message (every request writes an access line)."""


def _mask(match: re.Match[str]) -> str:
    return (match.group(1) or "") + "[REDACTED]"


def redact(text: str) -> str:
    return _SECRETS.sub(_mask, text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            text += " " + " ".join(f"{k}={v}" for k, v in fields.items())
        return text


class BufferedStreamHandler(logging.StreamHandler):
    """A stream handler that writes informational lines in batches: at most `flush_interval_s`
    late, and at once when `max_lines` are waiting or a warning or error arrives (after the lines
    before it). One write per line was a system call per request, 5 % of the gateway's CPU under
    load (docs/benchmarks.md); an access log buffered this way is what web servers do. Normal exit
    writes what is pending (`logging.shutdown` flushes and closes every handler)."""

    def __init__(self, stream: Any, *, flush_interval_s: float = 0.2, max_lines: int = 256) -> None:
        super().__init__(stream)
        self._pending: list[str] = []
        self._max_lines = max_lines
        self._interval = flush_interval_s
        self._closed = threading.Event()
        self._flusher = threading.Thread(target=self._run, name="log-flush", daemon=True)
        self._flusher.start()

    def emit(self, record: logging.LogRecord) -> None:
        # Handler.handle holds self.lock here
        try:
            self._pending.append(self.format(record) + self.terminator)
            if record.levelno >= logging.WARNING or len(self._pending) >= self._max_lines:
                self._write_pending()
        except Exception:
            self.handleError(record)

    def _write_pending(self) -> None:
        if self._pending:
            text = "".join(self._pending)
            self._pending.clear()
            self.stream.write(text)
            self.stream.flush()

    def flush(self) -> None:
        with self.lock if self.lock is not None else contextlib.nullcontext():
            self._write_pending()

    def _run(self) -> None:
        while not self._closed.wait(self._interval):
            self.flush()

    def close(self) -> None:
        self._closed.set()
        self.flush()
        super().close()


def _to_logging(message: Any) -> None:
    """A loguru sink: the record, at its level number, on the `logging` logger of its name."""
    record = message.record
    logger = logging.getLogger(record["extra"].get("name") or record["name"] or "loguru")
    if logger.isEnabledFor(record["level"].no):
        logger.log(record["level"].no, "%s", record["message"])


def route_library_logs() -> None:
    """Send gemini-webapi's lines (it logs with loguru, to its own stderr sink, at DEBUG) through
    `logging`, so our level, format and redaction apply to them. Idempotent."""
    from loguru import logger as loguru_logger

    global _library_sink
    if _library_sink is None:
        loguru_logger.remove()  # the default stderr sink, which bypasses everything of ours
        _library_sink = loguru_logger.add(_to_logging, level=0, format="{message}")


_library_sink: int | None = None


def configure_logging(level: str = "info", fmt: str = "text") -> None:
    handler = BufferedStreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(
        JsonFormatter() if fmt == "json" else TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    for replaced in root.handlers:
        if isinstance(replaced, BufferedStreamHandler):
            replaced.close()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    for noisy in ("httpx", "httpcore", "alembic", "hpack"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    route_library_logs()
