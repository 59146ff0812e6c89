"""The worker's in-flight body budget, against a real gateway process over raw sockets: a body
that would take the worker past MAX_INFLIGHT_BODY_BYTES is refused at once with a 503 and
Retry-After in OpenAI's shape, its body unread; the budget comes back when requests end."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from tests.gateway.conftest import DEMO_KEY, RunningGateway, _gateway

BUDGET = 1024 * 1024
TIMEOUT_S = 10.0


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def budgeted(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningGateway]:
    path: Path = tmp_path_factory.mktemp("admission") / "routerx.sqlite3"
    async for gateway in _gateway(f"sqlite://{path}", MAX_INFLIGHT_BODY_BYTES=str(BUDGET)):
        yield gateway


def chat_body(size: int) -> bytes:
    """A valid chat body of exactly `size` bytes."""
    start = b'{"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "'
    end = b'"}]}'
    return start + b"a" * (size - len(start) - len(end)) + end


def head(length: int | None) -> bytes:
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    return (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {DEMO_KEY}\r\n"
        f"Content-Type: application/json\r\n{framing}\r\nConnection: close\r\n\r\n"
    ).encode()


def read_answer(sock: socket.socket) -> bytes:
    """Read until the server closes (every request here says Connection: close)."""
    deadline = time.monotonic() + TIMEOUT_S
    received = b""
    while True:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            raise AssertionError(f"no answer within {TIMEOUT_S}s: {received[:300]!r}") from None
        except ConnectionResetError:
            return received
        if not chunk:
            return received
        received += chunk


def status_of(received: bytes) -> int:
    return int(received.split(b" ", 2)[1])


def post(port: int, body: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S) as sock:
        sock.sendall(head(len(body)) + body)
        return read_answer(sock)


def refused_unread(port: int, length: int) -> bytes:
    """Declare `length` bytes and send none of them: the answer must come anyway."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S) as sock:
        sock.sendall(head(length))
        return read_answer(sock)


async def held_bytes_reach(gateway: RunningGateway, size: int) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    async with aiohttp.ClientSession() as session:
        while True:
            async with session.get(gateway.url + "/metrics") as response:
                text = await response.text()
            held = next(
                float(line.split()[-1])
                for line in text.splitlines()
                if line.startswith("routerx_inflight_body_bytes")
            )
            if held >= size:
                return
            assert time.monotonic() < deadline, f"{held} bytes held, expected {size}"
            await asyncio.sleep(0.02)


def assert_busy(received: bytes) -> None:
    assert status_of(received) == 503, received[:300]
    headers, _, body = received.partition(b"\r\n\r\n")
    assert b"retry-after: 1" in headers.lower()
    error = json.loads(body)["error"]
    assert (error["type"], error["code"]) == ("service_unavailable", "server_busy")


async def test_a_body_over_the_budget_is_refused_unread_and_the_budget_returns(
    budgeted: RunningGateway,
) -> None:
    port = budgeted.server.port
    stalled_body = chat_body(BUDGET * 3 // 4)
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S) as stalled:
        # Three quarters of the budget declared, half of it sent: the rest never comes (yet).
        stalled.sendall(head(len(stalled_body)) + stalled_body[: len(stalled_body) // 2])
        await held_bytes_reach(budgeted, len(stalled_body))
        assert_busy(await asyncio.to_thread(refused_unread, port, BUDGET // 2))
        small = chat_body(2048)
        assert status_of(await asyncio.to_thread(post, port, small)) == 200  # within the rest
        stalled.sendall(stalled_body[len(stalled_body) // 2 :])
        assert status_of(await asyncio.to_thread(read_answer, stalled)) == 200
    # Both requests have ended: the whole budget is free again.
    deadline = time.monotonic() + TIMEOUT_S
    while status_of(answer := await asyncio.to_thread(post, port, chat_body(BUDGET - 1))) != 200:
        assert time.monotonic() < deadline, answer[:300]


async def test_a_chunked_body_is_counted_as_it_arrives(budgeted: RunningGateway) -> None:
    body = chat_body(BUDGET * 2)
    chunks = b"".join(
        f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        for piece in (body[i : i + 65536] for i in range(0, len(body), 65536))
    )

    def send_chunked() -> bytes:
        with socket.create_connection(("127.0.0.1", budgeted.server.port), timeout=TIMEOUT_S) as s:
            with contextlib.suppress(OSError):  # refused and closed while still sending
                s.sendall(head(None) + chunks + b"0\r\n\r\n")
            return read_answer(s)

    assert_busy(await asyncio.to_thread(send_chunked))


async def test_count_tokens_shares_the_budget_and_the_structural_caps(
    budgeted: RunningGateway,
) -> None:
    """Anthropic's count_tokens reads bodies too: over the budget it answers in Anthropic's
    shape (529 overloaded_error, which Anthropic clients retry), and a part flood is refused
    before it is decoded."""
    port = budgeted.server.port
    stalled_body = chat_body(BUDGET * 3 // 4)
    path = "/v1/messages/count_tokens"

    def count_tokens(body: bytes, *, send_body: bool) -> bytes:
        request = (
            f"POST {path} HTTP/1.1\r\nHost: x\r\nx-api-key: {DEMO_KEY}\r\n"
            f"anthropic-version: 2023-06-01\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S) as sock:
            sock.sendall(request + (body if send_body else b""))
            return read_answer(sock)

    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S) as stalled:
        stalled.sendall(head(len(stalled_body)) + stalled_body[:1024])
        await held_bytes_reach(budgeted, len(stalled_body))
        busy = await asyncio.to_thread(count_tokens, chat_body(BUDGET // 2), send_body=False)
    assert status_of(busy) == 529, busy[:300]
    answer = json.loads(busy.partition(b"\r\n\r\n")[2])
    assert answer["type"] == "error" and answer["error"]["type"] == "overloaded_error"
    flood = (  # 110,000 empty objects in 330 KB: within the budget, over the object cap
        b'{"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": ['
        + b"{}," * 110_000
        + b"{}]}]}"
    )
    refused = await asyncio.to_thread(count_tokens, flood, send_body=True)
    assert status_of(refused) == 400, refused[:300]
    assert b"more than 100000 JSON objects" in refused
