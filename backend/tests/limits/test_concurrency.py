"""Max concurrent requests per tenant and per key through a real gateway process: requests held
in flight (their bodies stalled on raw sockets) fill the cap, the next one gets a 429 in
OpenAI's shape with Retry-After, and the slot comes back when a held request ends."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.limits.test_gateway_limits import call, tenant_with_key, wait_until_served
from tests.support.database import prepare
from tests.support.processes import ServerProcess, base_env, start_server

BODY = json.dumps(
    {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "hi"}]}
).encode()
TIMEOUT_S = 10.0


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def gateway(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[str, str]]:
    path: Path = tmp_path_factory.mktemp("concurrency") / "routerx.sqlite3"
    database_url = f"sqlite://{path}"
    await prepare(database_url)
    server: ServerProcess = await start_server("gateway", base_env(database_url))
    try:
        yield server.url, database_url
    finally:
        server.stop()


def hold(port: int, key: str) -> socket.socket:
    """A request whose body stops one byte short: it stays in flight until the byte comes."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S)
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(BODY)}\r\n"
        "Connection: close\r\n\r\n"
    )
    sock.sendall(head.encode() + BODY[:-1])
    return sock


def finish(sock: socket.socket) -> int:
    sock.sendall(BODY[-1:])
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return int(received.split(b" ", 2)[1])


async def refused_once_held(url: str, key: str) -> tuple[int, dict[str, str], Any]:
    """The held requests reach the gateway soon after their bytes: poll until one refuses."""
    deadline = time.monotonic() + TIMEOUT_S
    while (answer := await call(url, key))[0] != 429:
        assert time.monotonic() < deadline, answer
        await asyncio.sleep(0.02)
    return answer


@pytest.mark.parametrize("scope", ["tenant", "key"])
async def test_requests_over_the_concurrency_cap_get_a_429(
    gateway: tuple[str, str], scope: str
) -> None:
    url, database_url = gateway
    port = int(url.rsplit(":", 1)[1])
    key = await tenant_with_key(database_url, f"busy-{scope}", **{f"{scope}_max_concurrency": 2})
    assert (await wait_until_served(url, key))[0] == 200
    with ExitStack() as stack:
        held = [stack.enter_context(hold(port, key)) for _ in range(2)]
        _, headers, body = await refused_once_held(url, key)
        assert headers["retry-after"] == "1"
        error = body["error"]
        assert (error["type"], error["code"]) == ("rate_limit_error", "concurrency_limit_exceeded")
        assert f"the {scope} allows 2 at once" in error["message"]
        assert await asyncio.to_thread(finish, held[0]) == 200
        # One slot is free again (once the ended request has left its finally): one more
        # request is served while the other is still held.
        deadline = time.monotonic() + TIMEOUT_S
        while (answer := await call(url, key))[0] != 200:
            assert answer[0] == 429 and time.monotonic() < deadline, answer
            await asyncio.sleep(0.02)
        assert await asyncio.to_thread(finish, held[1]) == 200
