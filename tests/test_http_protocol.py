"""Connections that never complete a request are closed while other clients are served at once;
requests the HTTP parser refuses get a JSON error in the route's dialect (issue 17 #6, #10)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from switchyard.app import create_app
from switchyard.http_protocol import server_options
from tests.conftest import create_key, make_settings
from tests.servers import serve

TIMEOUT_S = 2.0


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[str]:
    settings = make_settings(tmp_path, http_header_timeout_s=TIMEOUT_S, http_body_idle_timeout_s=TIMEOUT_S)
    with serve(create_app(settings), **server_options(settings)) as url:
        yield url


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    connection = socket.create_connection((host, int(port)), timeout=10)
    return connection


def _closed_within(connection: socket.socket, seconds: float) -> bool:
    """Did the server close the connection (EOF or reset) within `seconds`?"""
    connection.settimeout(seconds)
    try:
        while connection.recv(4096):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return True


def test_slow_connections_are_closed_and_others_served_meanwhile(gateway: str) -> None:
    silent = [_connect(gateway) for _ in range(3)]
    body_stalled = _connect(gateway)
    body_stalled.sendall(
        b"POST /antigravity/v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100\r\n\r\n{"model":'
    )
    trickling = _connect(gateway)
    stop = threading.Event()

    def trickle() -> None:  # a header byte every 0.2 s: never idle, never done
        trickling.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        with_errors = False
        while not stop.is_set() and not with_errors:
            try:
                trickling.sendall(b"a")
            except OSError:
                with_errors = True
            time.sleep(0.2)

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        started = time.monotonic()
        assert httpx.get(gateway + "/healthz", timeout=5).status_code == 200
        assert time.monotonic() - started < TIMEOUT_S  # served at once, not after the slow ones were cut
        deadline_s = TIMEOUT_S + 3
        assert all(_closed_within(connection, deadline_s) for connection in silent)
        assert _closed_within(body_stalled, deadline_s)
        assert _closed_within(trickling, deadline_s)
        assert httpx.get(gateway + "/healthz", timeout=5).status_code == 200
    finally:
        stop.set()
        thread.join()
        for connection in [*silent, body_stalled, trickling]:
            connection.close()


def test_two_hundred_slow_connections_delay_no_other_client(gateway: str) -> None:
    """Slowloris at scale: 200 connections that never finish their headers or bodies hold nothing
    another client needs; each is closed at its deadline."""
    slow: list[socket.socket] = []
    try:
        for index in range(200):
            connection = _connect(gateway)
            if index % 2:
                connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            else:
                connection.sendall(
                    b"POST /antigravity/v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                    b'Content-Length: 1000\r\n\r\n{"model":'
                )
            slow.append(connection)
        started = time.monotonic()
        with httpx.Client(base_url=gateway, timeout=5) as client:
            for _ in range(5):
                assert client.get("/healthz").status_code == 200
        assert time.monotonic() - started < TIMEOUT_S  # served at once, not after the slow ones were cut
        assert all(_closed_within(connection, TIMEOUT_S + 5) for connection in slow)
    finally:
        for connection in slow:
            connection.close()


def _raw_response(gateway: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    connection = _connect(gateway)
    try:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    finally:
        connection.close()
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


@pytest.mark.parametrize(
    ("path", "dialect"),
    [
        ("/antigravity/v1/chat/completions", "openai"),
        ("/antigravity/v1beta/models/gemini-2.5-flash:generateContent", "google"),
    ],
)
def test_a_malformed_content_length_gets_a_json_400_in_the_dialect(
    gateway: str, path: str, dialect: str
) -> None:
    status, headers, body = _raw_response(
        gateway, f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n".encode()
    )
    assert status == 400 and headers["content-type"] == "application/json"
    error = orjson.loads(body)["error"]
    assert "Content-Length" in error["message"]
    if dialect == "google":
        assert error["status"] == "INVALID_ARGUMENT"
    else:
        assert error["type"] == "invalid_request_error"


def test_oversized_headers_get_431(gateway: str) -> None:
    status, _, body = _raw_response(
        gateway, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n"
    )
    assert status == 431 and "headers" in orjson.loads(body)["error"]["message"]


def test_a_large_body_sent_with_its_headers_in_one_write_is_no_431(tmp_path: Path) -> None:
    """Found by the 20 MB image benchmark: the body behind small headers is not header bytes."""
    settings = make_settings(tmp_path)
    key = create_key(settings, "big-body")
    body = (
        b'{"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "' + b"a" * 150_000 + b'"}]}'
    )
    head = (
        "POST /antigravity/v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with serve(create_app(settings), **server_options(settings)) as url:
        status, _, answer = _raw_response(url, head + body)
    assert status != 431, answer
    assert status == 503 and b"antigravity" in answer, "read whole, then refused: no account is configured"
