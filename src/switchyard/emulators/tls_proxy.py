"""An HTTPS-intercepting proxy in front of an emulator app, with its own certificate authority.

`gemini_webapi` talks to fixed Google hosts (`gemini.google.com`, `accounts.google.com`,
`content-push.googleapis.com`, `lh3.googleusercontent.com`, ...) and keeps its cookies on
`.google.com` as secure cookies, so it cannot be pointed at `http://127.0.0.1`. It does accept a
`proxy` and a CA bundle (`verify=`), which is the seam used here:

    client ──CONNECT gemini.google.com:443──▶ front ──TLS (leaf cert from our CA)──▶ pipe ──▶ uvicorn(app)

One asyncio server reads the first request line of each connection:

* `CONNECT host:443` for a Google host: answer 200, upgrade the connection to TLS with a leaf
  certificate for that host (issued on the fly, cached), then pipe the decrypted bytes to an
  internal uvicorn serving the app on a private loopback port. The app routes by `Host`.
* `CONNECT` to anything else: 403. Only these hosts are intercepted, nothing is forwarded upstream.
* any other request line: plain HTTP, piped to the same uvicorn, so the control API answers at
  `http://127.0.0.1:<port>/_control/...`.

ALPN offers only `http/1.1` (curl impersonating Chrome would otherwise pick HTTP/2).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_CERT_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"
LEAF_DIR = "leaves"
INTERCEPTED_SUFFIXES = ("google.com", "googleusercontent.com", "googleapis.com")
ALLOWED_CONNECT_PORTS = frozenset({443})
FIRST_LINE_LIMIT = 8192
PIPE_CHUNK = 65536
CA_VALIDITY = datetime.timedelta(days=3650)
LEAF_VALIDITY = datetime.timedelta(days=397)
CLOCK_SKEW = datetime.timedelta(days=1)


def is_intercepted_host(host: str) -> bool:
    """Google hosts the emulator answers for: the bare domains and any subdomain of them."""
    host = host.lower().rstrip(".")
    return any(host == suffix or host.endswith("." + suffix) for suffix in INTERCEPTED_SUFFIXES)


@dataclass
class CertificateAuthority:
    """A private CA (EC P-256) whose certificate is written to `<ca_dir>/ca.pem` for clients to trust."""

    ca_dir: Path
    _key: ec.EllipticCurvePrivateKey = field(init=False)
    _cert: x509.Certificate = field(init=False)
    _contexts: dict[str, ssl.SSLContext] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self.ca_dir.mkdir(parents=True, exist_ok=True)
        cert_path, key_path = self.ca_dir / CA_CERT_FILE, self.ca_dir / CA_KEY_FILE
        if cert_path.is_file() and key_path.is_file():
            loaded = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            if isinstance(loaded, ec.EllipticCurvePrivateKey):
                self._key = loaded
                self._cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
                return
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._cert = self._issue_ca_cert()
        key_path.write_bytes(
            self._key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        key_path.chmod(0o600)
        cert_path.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))

    @property
    def cert_path(self) -> Path:
        """The CA bundle to pass as `verify=` (curl_cffi) or `SWITCHYARD_GEMINI_WEB_CA_BUNDLE`."""
        return self.ca_dir / CA_CERT_FILE

    def _issue_ca_cert(self) -> x509.Certificate:
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Switchyard emulator"),
                x509.NameAttribute(NameOID.COMMON_NAME, "Switchyard emulator CA"),
            ]
        )
        now = datetime.datetime.now(datetime.UTC)
        public_key = self._key.public_key()
        return (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - CLOCK_SKEW)
            .not_valid_after(now + CA_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .sign(self._key, hashes.SHA256())
        )

    def _issue_leaf(self, host: str) -> tuple[bytes, bytes]:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        san: list[x509.GeneralName]
        try:
            san = [x509.IPAddress(ipaddress.ip_address(host))]
        except ValueError:
            san = [x509.DNSName(host)]
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - CLOCK_SKEW)
            .not_valid_after(now + LEAF_VALIDITY)
            .add_extension(x509.SubjectAlternativeName(san), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False,
            )
            .sign(self._key, hashes.SHA256())
        )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        chain_pem = cert.public_bytes(serialization.Encoding.PEM) + self._cert.public_bytes(
            serialization.Encoding.PEM
        )
        return chain_pem, key_pem

    def server_context(self, host: str) -> ssl.SSLContext:
        """A TLS server context presenting a leaf certificate for `host` (issued once, then cached)."""
        host = host.lower().rstrip(".")
        with self._lock:
            cached = self._contexts.get(host)
            if cached is not None:
                return cached
            chain_pem, key_pem = self._issue_leaf(host)
            leaf_dir = self.ca_dir / LEAF_DIR
            leaf_dir.mkdir(exist_ok=True)
            chain_path, key_path = leaf_dir / f"{host}.pem", leaf_dir / f"{host}-key.pem"
            chain_path.write_bytes(chain_pem)
            key_path.write_bytes(key_pem)
            key_path.chmod(0o600)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(chain_path, key_path)
            context.set_alpn_protocols(["http/1.1"])
            self._contexts[host] = context
            return context


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(PIPE_CHUNK):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, ssl.SSLError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            if writer.can_write_eof():
                writer.write_eof()


async def _close(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        writer.close()
        await writer.wait_closed()


class GeminiWebProxy:
    """The CONNECT/TLS front plus an internal uvicorn serving `app`.

    Use `await start()` / `await stop()` inside a running loop, or `running_in_thread()` from
    synchronous code (tests, `switchyard demo`). A gateway then configures each Gemini web account
    with `proxy=proxy.proxy_url` and `verify=str(proxy.ca_path)`.
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, ca_dir: str | Path = "ca") -> None:
        self.app = app
        self.host = host
        self.port = port
        self.ca = CertificateAuthority(Path(ca_dir))
        self._server: asyncio.Server | None = None
        self._uvicorn: uvicorn.Server | None = None
        self._uvicorn_task: asyncio.Task[None] | None = None
        self._internal_port = 0
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def ca_path(self) -> Path:
        return self.ca.cert_path

    @property
    def proxy_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        internal = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        internal.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        internal.bind(("127.0.0.1", 0))
        self._internal_port = int(internal.getsockname()[1])
        config = uvicorn.Config(
            self.app, log_level="error", lifespan="on", access_log=False, timeout_keep_alive=30
        )
        self._uvicorn = uvicorn.Server(config)
        self._uvicorn_task = asyncio.create_task(self._uvicorn.serve(sockets=[internal]))
        while not self._uvicorn.started:
            if self._uvicorn_task.done():
                self._uvicorn_task.result()
                raise RuntimeError("the internal emulator server stopped while starting")
            await asyncio.sleep(0.01)
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
        if self._uvicorn is not None and self._uvicorn_task is not None:
            self._uvicorn.should_exit = True
            await self._uvicorn_task

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            await self._serve_connection(reader, writer)
        except (
            ConnectionError,
            ssl.SSLError,
            OSError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ValueError,
        ):
            pass
        except asyncio.CancelledError:
            # only `stop()` cancels these; ending quietly keeps asyncio's stream callback silent
            pass
        finally:
            await _close(writer)
            if task is not None:
                self._connections.discard(task)

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        first_line = await reader.readuntil(b"\n")
        if len(first_line) > FIRST_LINE_LIMIT:
            return
        method, _, rest = first_line.decode("latin-1").partition(" ")
        if method.upper() != "CONNECT":
            await self._forward(reader, writer, first_line)
            return
        target = rest.split(" ", 1)[0]
        host, _, port_text = target.rpartition(":")
        while (await reader.readuntil(b"\n")).strip():
            pass  # the CONNECT request's headers carry nothing we need
        if not (
            port_text.isdigit() and int(port_text) in ALLOWED_CONNECT_PORTS and is_intercepted_host(host)
        ):
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
            return
        context = await asyncio.to_thread(self.ca.server_context, host)
        # Stop reading before the 200: the ClientHello must reach the TLS layer, not the
        # plain StreamReader buffer (start_tls resumes reading once TLS is in place).
        writer.transport.pause_reading()  # type: ignore[attr-defined]
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await writer.start_tls(context)
        await self._forward(reader, writer, b"")

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self._internal_port)
        try:
            if head:
                upstream_writer.write(head)
            to_app = asyncio.create_task(_pipe(reader, upstream_writer))
            to_client = asyncio.create_task(_pipe(upstream_reader, writer))
            try:
                await asyncio.wait({to_app, to_client}, return_when=asyncio.FIRST_COMPLETED)
                # the app closed (or the client went away): let the other direction finish briefly
                await asyncio.wait({to_app, to_client}, timeout=1)
            finally:
                for task in (to_app, to_client):
                    task.cancel()
                await asyncio.gather(to_app, to_client, return_exceptions=True)
        finally:
            await _close(upstream_writer)

    @contextlib.contextmanager
    def running_in_thread(self, start_timeout_s: float = 20) -> Iterator[GeminiWebProxy]:
        """Run the proxy on its own event loop in a daemon thread until the block exits."""
        loop = asyncio.new_event_loop()
        started = threading.Event()
        failure: list[BaseException] = []
        stop_event: asyncio.Event | None = None

        async def main() -> None:
            nonlocal stop_event
            stop_event = asyncio.Event()
            try:
                await self.start()
            except BaseException as exc:
                failure.append(exc)
                started.set()
                return
            started.set()
            await stop_event.wait()
            await self.stop()

        thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
        thread.start()
        if not started.wait(start_timeout_s):
            raise TimeoutError("the Gemini web proxy did not start in time")
        if failure:
            raise RuntimeError("the Gemini web proxy failed to start") from failure[0]
        try:
            yield self
        finally:
            if stop_event is not None:
                loop.call_soon_threadsafe(stop_event.set)
            thread.join(timeout=15)
            loop.close()


async def serve_gemini_web(app: Any, host: str, port: int, ca_dir: str | Path) -> GeminiWebProxy:
    """Start the proxy+emulator in the running loop; the caller awaits `stop()` when done."""
    proxy = GeminiWebProxy(app, host=host, port=port, ca_dir=ca_dir)
    await proxy.start()
    return proxy


def run_gemini_web(app: Any, host: str, port: int, ca_dir: str | Path) -> None:
    """Serve until interrupted (what `switchyard emulate gemini-web` needs)."""

    async def main() -> None:
        proxy = await serve_gemini_web(app, host, port, ca_dir)
        try:
            await asyncio.Event().wait()
        finally:
            await proxy.stop()

    asyncio.run(main())
