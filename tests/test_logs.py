"""Secrets never reach the logs, even inside messages and tracebacks."""

from __future__ import annotations

import io
import logging

import pytest

from switchyard.logs import JsonFormatter, RedactingFilter, redact

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
