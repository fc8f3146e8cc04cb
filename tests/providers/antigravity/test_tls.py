"""The generation client over HTTPS: it verifies the upstream's certificate, trusts `SSL_CERT_FILE`,
and gives up on a silent upstream after the configured read timeout.

The Cloud Code emulator is served over TLS with a leaf certificate for 127.0.0.1 from the
emulators' private CA (the one the Gemini web emulator uses).
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from switchyard.emulators.cloudcode import create_app as create_cloudcode
from switchyard.emulators.cloudcode_catalogue import derive_project_id
from switchyard.emulators.tls_proxy import CertificateAuthority
from switchyard.errors import UpstreamTransient
from switchyard.providers.antigravity import AntigravityClient
from tests.servers import serve

from .conftest import Emulator, register_account, upstream_settings

pytestmark = pytest.mark.anyio

PROMPT = {"contents": [{"role": "user", "parts": [{"text": "hello over TLS"}]}]}


@pytest.fixture
def authority(tmp_path: Path) -> CertificateAuthority:
    return CertificateAuthority(tmp_path / "ca")


@pytest.fixture
def https_cloudcode(authority: CertificateAuthority) -> Iterator[Emulator]:
    authority.server_context("127.0.0.1")  # issues the leaf and writes it next to the CA
    leaves = authority.ca_dir / "leaves"
    with serve(
        create_cloudcode(),
        ssl_certfile=str(leaves / "127.0.0.1.pem"),
        ssl_keyfile=str(leaves / "127.0.0.1-key.pem"),
    ) as url:
        yield Emulator(
            url.replace("http://", "https://"), verify=ssl.create_default_context(cafile=authority.cert_path)
        )


def _client(oauth: Emulator, cloudcode: Emulator, **overrides: object) -> AntigravityClient:
    settings = upstream_settings(oauth, cloudcode, **overrides)
    settings.antigravity_discovery_url = "http://127.0.0.1:9"  # the project is known; never asked
    return AntigravityClient(settings)


async def test_a_certificate_from_a_trusted_authority_is_accepted(
    oauth: Emulator,
    https_cloudcode: Emulator,
    authority: CertificateAuthority,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(authority.cert_path))
    account = register_account(oauth, "antigravity-1", project_id=derive_project_id("antigravity-1"))
    client = _client(oauth, https_cloudcode)
    try:
        answer = await client.generate(account, "gemini-2.5-flash", PROMPT)
    finally:
        await client.aclose()
    assert "hello over TLS" in answer["candidates"][0]["content"]["parts"][0]["text"]


async def test_an_untrusted_certificate_is_refused(
    oauth: Emulator, https_cloudcode: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    account = register_account(oauth, "antigravity-1", project_id=derive_project_id("antigravity-1"))
    client = _client(oauth, https_cloudcode)
    try:
        with pytest.raises(UpstreamTransient, match=r"unreachable .*Certificate"):
            await client.generate(account, "gemini-2.5-flash", PROMPT)
    finally:
        await client.aclose()
    assert https_cloudcode.requests("/v1internal:generateContent") == [], "nothing sent to an impostor"


async def test_a_silent_stream_times_out_after_the_read_timeout(
    oauth: Emulator,
    https_cloudcode: Emulator,
    authority: CertificateAuthority,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(authority.cert_path))
    https_cloudcode.control("POST", "settings", {"event_delay_ms": 5000})
    account = register_account(oauth, "antigravity-1", project_id=derive_project_id("antigravity-1"))
    client = _client(oauth, https_cloudcode, antigravity_request_timeout_s=1.0)
    started = time.monotonic()
    received = []
    try:
        # The first event ("Echo (gemini-2.") is held back while it could start a refusal sentence,
        # so the timeout cuts the stream before anything was delivered: a retryable failure.
        with pytest.raises(UpstreamTransient, match="broke before any event"):
            async for batch in client.stream(account, "gemini-2.5-flash", PROMPT):
                received.extend(batch)
    finally:
        await client.aclose()
    assert received == []
    assert time.monotonic() - started < 4.0, "the 5 s pause is cut at the 1 s read timeout"
