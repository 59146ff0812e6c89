"""HTTP-level guards of a real gateway process, over raw sockets: ambiguous framing (both
Content-Length and Transfer-Encoding) is refused and the connection closed, open connections
are capped per worker, and h2c is off unless a setting turns it on."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import pytest_asyncio

from tests.gateway.conftest import DEMO_KEY, RunningGateway, _gateway
from tests.support.processes import base_env, start_server

TIMEOUT_S = 10.0
CONNECTION_CAP = 6
CHAT_BODY = json.dumps(
    {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "hi"}]}
).encode()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def guarded(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningGateway]:
    path: Path = tmp_path_factory.mktemp("guards") / "routerx.sqlite3"
    async for gateway in _gateway(
        f"sqlite://{path}", MAX_CONNECTIONS=str(CONNECTION_CAP), HEADER_READ_TIMEOUT_S="1"
    ):
        yield gateway


def converse(port: int, data: bytes) -> bytes:
    """Send `data` (no `Connection: close` of ours) and read until the server closes; a server
    that keeps the connection open past the deadline fails the test."""
    deadline = time.monotonic() + TIMEOUT_S
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S) as sock:
        sock.sendall(data)
        while True:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                raise AssertionError(f"the server did not close: {received[:300]!r}") from None
            except ConnectionResetError:
                return received
            if not chunk:
                return received
            received += chunk


def statuses(received: bytes) -> list[int]:
    return [
        int(line.split(b" ")[1]) for line in received.split(b"\r\n") if line[:9] == b"HTTP/1.1 "
    ]


def chunked(body: bytes) -> bytes:
    return f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"


async def test_content_length_with_transfer_encoding_is_refused_and_closed(
    guarded: RunningGateway,
) -> None:
    """A valid chat body sent chunked with a Content-Length too, and a second request pipelined
    behind it on the same keep-alive connection: one 400 in OpenAI's shape, then the close; the
    pipelined request is never answered."""
    payload = chunked(CHAT_BODY)
    pipelined = f"GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {DEMO_KEY}\r\n\r\n"
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {DEMO_KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    )
    received = await asyncio.to_thread(
        converse, guarded.server.port, head.encode() + payload + pipelined.encode()
    )
    assert statuses(received) == [400], received[:500]
    head_bytes, _, body = received.partition(b"\r\n\r\n")
    assert b"connection: close" in head_bytes.lower()
    error = json.loads(body)["error"]
    assert error["code"] == "ambiguous_request_framing"
    assert error["type"] == "invalid_request_error"
    assert b'"object":"list"' not in received


async def test_connections_over_the_cap_get_a_503_and_are_closed(guarded: RunningGateway) -> None:
    """CONNECTION_CAP idle connections are held open; the next one is answered 503 with
    Retry-After and closed before it sends anything; once one is closed, a new one is served."""
    port = guarded.server.port
    with ExitStack() as stack:
        held = [
            stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S))
            for _ in range(CONNECTION_CAP)
        ]
        refused = await asyncio.to_thread(converse, port, b"")
        assert statuses(refused) == [503], refused[:300]
        head, _, body = refused.partition(b"\r\n\r\n")
        assert b"retry-after: 1" in head.lower()
        assert json.loads(body)["error"]["code"] == "too_many_connections"
        held.pop().close()
        request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        deadline = time.monotonic() + TIMEOUT_S
        while statuses(answer := await asyncio.to_thread(converse, port, request)) != [200]:
            assert time.monotonic() < deadline, answer[:300]  # the server sees the close soon
            await asyncio.sleep(0.02)


SLOW_HEAD = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: appl"


async def test_headers_that_do_not_arrive_in_time_close_the_connection(
    guarded: RunningGateway,
) -> None:
    """A slowloris client: the start of a request's headers, then nothing. The connection is
    closed after HEADER_READ_TIMEOUT_S (1 s here), not after the 75 s keep-alive timeout."""
    received = await asyncio.to_thread(converse, guarded.server.port, SLOW_HEAD)
    assert received == b""


async def test_the_admin_api_has_the_same_guards(guarded: RunningGateway) -> None:
    """A `routerx admin` process: slow headers are cut off, ambiguous framing on /auth/login is
    refused with a 400 and the close, and nothing pipelined behind it is answered."""
    env = base_env(guarded.database_url, HEADER_READ_TIMEOUT_S="1")
    admin = await start_server("admin", env)
    try:
        slow = await asyncio.to_thread(converse, admin.port, SLOW_HEAD)
        body = json.dumps({"username": "admin", "password": "not-the-password"}).encode()
        payload = chunked(body)
        head = (
            "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\nTransfer-Encoding: chunked\r\n\r\n"
        ).encode()
        pipelined = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        framed = await asyncio.to_thread(converse, admin.port, head + payload + pipelined)
    finally:
        admin.stop()
    assert slow == b""
    assert statuses(framed) == [400], framed[:500]
    error = json.loads(framed.partition(b"\r\n\r\n")[2])["error"]
    assert error["code"] == "ambiguous_request_framing"


async def test_h2c_upgrade_is_ignored_and_the_preface_is_not_http2(
    guarded: RunningGateway,
) -> None:
    port = guarded.server.port
    upgrade = (
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings, close\r\n"
        b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"
    )
    received = await asyncio.to_thread(converse, port, upgrade)
    assert statuses(received) == [200], received[:300]
    assert b"101" not in received.split(b"\r\n", 1)[0]
    preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    received = await asyncio.to_thread(converse, port, preface)
    # An HTTP/2 server would answer with a SETTINGS frame (binary); this one speaks HTTP/1.1.
    assert received.startswith(b"HTTP/1.1 4"), received[:100]


async def test_h2c_is_served_when_the_setting_turns_it_on(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    path: Path = tmp_path_factory.mktemp("h2c") / "routerx.sqlite3"
    async for gateway in _gateway(f"sqlite://{path}", H2C_ENABLED="true"):
        upgrade = (
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n"
            b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"
        )
        received = await asyncio.to_thread(_first_bytes, gateway.server.port, upgrade)
        assert received.startswith(b"HTTP/1.1 101"), received[:100]


def _first_bytes(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S) as sock:
        sock.sendall(data)
        return sock.recv(65536)
