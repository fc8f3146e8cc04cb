"""Secrets never reach the logs, even inside messages and tracebacks."""

from __future__ import annotations

import io
import logging
import time

import pytest

from switchyard.logs import BufferedStreamHandler, JsonFormatter, RedactingFilter, redact

SECRETS = [
    "sk-sy-abcdefghijklmnopqrstuvwx",
    "ya29.a0AfB_byC-made-up-token-value-123",
    "1//0gMADEUPrefreshTOKENvalue_abc",
    "g.a000madeUpCookieValueXYZ123456",
]


@pytest.mark.parametrize("secret", SECRETS)
def test_redact_masks_every_credential_shape(secret: str) -> None:
    assert secret not in redact(f"calling upstream with {secret} now")


def test_bearer_headers_are_masked() -> None:
    assert "opaque-token-12345678" not in redact("Authorization: Bearer opaque-token-12345678")


def test_log_records_and_tracebacks_are_redacted() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("switchyard.test-redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("refresh failed for %s", SECRETS[2])
        try:
            raise RuntimeError(f"upstream said no to {SECRETS[1]}")
        except RuntimeError:
            logger.exception("boom")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert "[REDACTED]" in output
    for secret in SECRETS[1:3]:
        assert secret not in output


def test_buffered_handler_batches_info_lines_and_writes_warnings_at_once() -> None:
    stream = io.StringIO()
    handler = BufferedStreamHandler(stream, flush_interval_s=60)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("switchyard.test-buffered")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        logger.info("first")
        logger.info("second")
        assert stream.getvalue() == "", "informational lines wait for the next flush"
        logger.warning("trouble")
        assert stream.getvalue() == "INFO first\nINFO second\nWARNING trouble\n", "in order, at once"
        logger.info("third")
        handler.flush()
        assert stream.getvalue().endswith("INFO third\n")
        logger.info("fourth")
    finally:
        logger.removeHandler(handler)
        handler.close()
    assert stream.getvalue().endswith("INFO fourth\n"), "closing writes what is pending"


def test_buffered_handler_flushes_on_its_own_within_the_interval() -> None:
    stream = io.StringIO()
    handler = BufferedStreamHandler(stream, flush_interval_s=0.05)
    handler.setFormatter(logging.Formatter("%(message)s"))
    try:
        handler.handle(logging.makeLogRecord({"msg": "late line", "levelno": logging.INFO}))
        deadline = time.monotonic() + 5
        while "late line" not in stream.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert stream.getvalue() == "late line\n"
    finally:
        handler.close()


def test_gemini_webapi_lines_go_through_our_logging_level_and_redaction(
    capfd: pytest.CaptureFixture[str],
) -> None:
    from gemini_webapi.utils.logger import logger as library_logger

    from switchyard.logs import route_library_logs

    route_library_logs()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    ours = logging.getLogger("gemini_webapi")
    ours.addHandler(handler)
    ours.setLevel(logging.INFO)
    try:
        library_logger.info(f"Saved cookies for {SECRETS[3]}")
        library_logger.debug("a debug line below our level")
        library_logger.success("Gemini client initialized successfully.")
    finally:
        ours.removeHandler(handler)
        ours.setLevel(logging.NOTSET)
    output = stream.getvalue()
    assert "INFO gemini_webapi: Saved cookies for [REDACTED]" in output
    assert "debug line" not in output and "initialized successfully" in output
    raw = capfd.readouterr()
    assert "Saved cookies" not in raw.err + raw.out  # no line of the library's own sink
