"""`fetch_media` against a real HTTP server on loopback: refusals, redirects, caps, type sniffing."""

from __future__ import annotations

import asyncio
import base64
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from switchyard.errors import InvalidRequest, PayloadTooLarge
from switchyard.fetch import address_refusal, create_media_client, fetch_media
from switchyard.translate import Media
from tests.servers import serve

pytestmark = pytest.mark.anyio

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x01" * 100
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x02" * 100
LOCAL = ("127.0.0.1",)


async def png(request: Request) -> Response:
    return Response(PNG, media_type="text/plain")  # a lying Content-Type


async def wav(request: Request) -> Response:
    return Response(WAV, media_type="audio/wav")


async def mp4(request: Request) -> Response:
    return Response(MP4, media_type="application/octet-stream")


async def unknown(request: Request) -> Response:
    return Response(b"no magic here", headers={"content-type": request.query_params.get("ct", "")})


async def big(request: Request) -> Response:
    return Response(PNG + b"\x00" * 10_000, media_type="image/png")


async def big_chunked(request: Request) -> StreamingResponse:
    async def chunks() -> AsyncIterator[bytes]:
        yield PNG
        for _ in range(100):
            yield b"\x00" * 1000

    return StreamingResponse(chunks(), media_type="image/png")


async def redirect(request: Request) -> RedirectResponse:
    return RedirectResponse(
        request.query_params["to"], status_code=int(request.query_params.get("status", "302"))
    )


async def loop(request: Request) -> RedirectResponse:
    return RedirectResponse(f"/loop/{int(request.path_params['n']) + 1}")


async def slow(request: Request) -> Response:
    await asyncio.sleep(3)
    return Response(PNG)


async def missing(request: Request) -> Response:
    return Response(b"nope", status_code=404)


async def echo_host(request: Request) -> Response:
    return Response(PNG, headers={"x-host": request.headers["host"]})


APP = Starlette(
    routes=[
        Route("/png", png),
        Route("/wav", wav),
        Route("/video", mp4),
        Route("/unknown{suffix:path}", unknown),
        Route("/big", big),
        Route("/big-chunked", big_chunked),
        Route("/redirect", redirect),
        Route("/loop/{n}", loop),
        Route("/slow", slow),
        Route("/missing", missing),
        Route("/host", echo_host),
    ]
)


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve(APP) as url:
        yield url


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def fetch(
    url: str, *, allow: tuple[str, ...] = LOCAL, max_bytes: int = 1_000_000, timeout_s: float = 10.0
) -> Media:
    async with create_media_client() as client:
        return await fetch_media(
            url, client=client, max_bytes=max_bytes, timeout_s=timeout_s, allow_hosts=allow, param="p"
        )


@pytest.mark.parametrize(
    ("path", "mime", "data"),
    [
        ("/png", "image/png", PNG),
        ("/wav", "audio/wav", WAV),
        ("/video", "video/mp4", MP4),
        ("/unknown?ct=audio/x-thing", "audio/x-thing", b"no magic here"),
        ("/unknown/song.mp3", "audio/mpeg", b"no magic here"),
        ("/unknown/song.mp3?ct=application/octet-stream", "audio/mpeg", b"no magic here"),
    ],
)
async def test_type_comes_from_bytes_then_content_type_then_extension(
    base_url: str, path: str, mime: str, data: bytes
) -> None:
    media = await fetch(base_url + path)
    assert media.mime == mime
    assert base64.b64decode(media.data_b64) == data


async def test_loopback_is_refused_by_default(base_url: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await fetch(base_url + "/png", allow=())
    assert "127.0.0.1" in caught.value.message and "loopback" in caught.value.message
    assert caught.value.status == 400 and caught.value.param == "p"


async def test_localhost_name_is_resolved_and_refused(base_url: str) -> None:
    with pytest.raises(InvalidRequest, match=r"localhost resolves to 127\.0\.0\.1, a loopback address"):
        await fetch(base_url.replace("127.0.0.1", "localhost") + "/png", allow=())


async def test_redirect_to_loopback_from_an_allowed_host_is_refused_unless_allowed(base_url: str) -> None:
    target = base_url.replace("127.0.0.1", "localhost") + "/wav"
    with pytest.raises(InvalidRequest, match="localhost"):
        await fetch(f"{base_url}/redirect?to={target}", allow=LOCAL)
    media = await fetch(f"{base_url}/redirect?to={target}&status=307", allow=(*LOCAL, "LOCALHOST."))
    assert media.mime == "audio/wav"


async def test_redirect_to_another_scheme_is_refused(base_url: str) -> None:
    with pytest.raises(InvalidRequest, match="only http"):
        await fetch(f"{base_url}/redirect?to=file:///etc/passwd")


async def test_redirect_chain_is_capped(base_url: str) -> None:
    with pytest.raises(InvalidRequest, match="more than 5 redirects"):
        await fetch(base_url + "/loop/0")


@pytest.mark.parametrize("path", ["/big", "/big-chunked"])
async def test_size_cap(base_url: str, path: str) -> None:
    with pytest.raises(PayloadTooLarge) as caught:
        await fetch(base_url + path, max_bytes=5000)
    assert caught.value.status == 413
    assert (await fetch(base_url + path, max_bytes=200_000)).mime == "image/png"


async def test_timeout_is_a_clear_400(base_url: str) -> None:
    with pytest.raises(InvalidRequest, match=r"timed out after 0\.3 s"):
        await fetch(base_url + "/slow", timeout_s=0.3)


async def test_http_errors_are_reported(base_url: str) -> None:
    with pytest.raises(InvalidRequest, match="HTTP 404"):
        await fetch(base_url + "/missing")


async def test_host_header_keeps_the_name_while_the_ip_is_pinned(base_url: str) -> None:
    async with create_media_client() as client:
        media = await fetch_media(
            base_url.replace("127.0.0.1", "localhost") + "/host",
            client=client,
            max_bytes=10_000,
            timeout_s=5,
            allow_hosts=["localhost"],
        )
    assert media.mime == "image/png"


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://10.1.2.3/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
        "gopher://example.com/",
        "http:///nohost",
    ],
)
async def test_dangerous_urls_are_refused_before_connecting(url: str) -> None:
    with pytest.raises(InvalidRequest):
        await fetch(url, allow=())


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("100.64.0.1", "shared (CGNAT)"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("240.0.0.1", "private"),
        ("192.0.2.1", "private"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fd00:ec2::254", "private"),
        ("ff02::1", "multicast"),
        ("::ffff:10.0.0.1", "IPv4-mapped IPv6"),
        ("64:ff9b::a00:1", "IPv6-embedded private"),
        ("2002:a00:1::", "IPv6-embedded private"),
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_address_classification(address: str, reason: str | None) -> None:
    assert address_refusal(ipaddress.ip_address(address)) == reason


def _self_signed_localhost(tmp: Path) -> tuple[Path, Path]:
    """A certificate valid for the name `localhost` only (no IP SAN), so verification must use SNI."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


async def test_https_pins_the_address_but_verifies_the_certificate_for_the_name(tmp_path: Path) -> None:
    cert_path, key_path = _self_signed_localhost(tmp_path)
    trust = ssl.create_default_context(cafile=str(cert_path))
    with serve(APP, ssl_certfile=str(cert_path), ssl_keyfile=str(key_path)) as http_url:
        url = http_url.replace("http://127.0.0.1", "https://localhost") + "/wav"
        async with create_media_client(verify=trust) as client:
            media = await fetch_media(
                url, client=client, max_bytes=10_000, timeout_s=10, allow_hosts=["localhost"]
            )
            assert media.mime == "audio/wav"
            # The certificate names `localhost` only: by IP the same server must fail verification.
            with pytest.raises(InvalidRequest, match="certificate verify failed"):
                await fetch_media(
                    url.replace("localhost", "127.0.0.1"),
                    client=client,
                    max_bytes=10_000,
                    timeout_s=10,
                    allow_hosts=LOCAL,
                )


async def test_an_allow_entry_with_a_port_allows_only_that_port(base_url: str) -> None:
    port = int(base_url.rsplit(":", 1)[1])
    localhost = base_url.replace("127.0.0.1", "localhost") + "/png"
    assert (await fetch(base_url + "/png", allow=(f"127.0.0.1:{port}",))).mime == "image/png"
    assert (await fetch(localhost, allow=(f"LOCALHOST:{port}",))).mime == "image/png"
    with pytest.raises(InvalidRequest, match="loopback"):
        await fetch(base_url + "/png", allow=(f"127.0.0.1:{port + 1}",))
    with pytest.raises(InvalidRequest, match="loopback"):
        await fetch(localhost, allow=(f"localhost:{port + 1}",))
