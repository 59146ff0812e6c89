"""The admin API reads bodies under a deadline like the gateway: a body that does not arrive in
time gets a 408 and the connection closed (a slow body once held /auth/login open for minutes).
The concurrency caps of tenants and keys are set and validated through it. (The HTTP guards of
the `routerx admin` process itself are tested in tests/gateway/test_http_guards.py.)"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest

from tests.admin.admin_harness import Admin, pg_admin

API = "/api/v1"
READ_TIMEOUT_S = 0.5
TIMEOUT_S = 10.0


@pytest.fixture(scope="module")
async def admin() -> AsyncIterator[Admin]:
    async with pg_admin(body_read_timeout_s=READ_TIMEOUT_S) as running:
        yield running


def converse(admin: Admin, data: bytes) -> bytes:
    """Send `data`, then read until the server closes; fail if it never does."""
    port = urlsplit(admin.base_url).port
    assert port is not None
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
            if not chunk:
                return received
            received += chunk


def split(received: bytes) -> tuple[int, bytes, dict[str, object]]:
    head, _, body = received.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), head.lower(), json.loads(body)


async def test_a_login_body_that_stalls_gets_a_408_and_the_close(admin: Admin) -> None:
    body = json.dumps({"username": "admin", "password": "not-the-password"}).encode()
    head = (
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    received = await asyncio.to_thread(converse, admin, head + body[:5])
    status, headers, answer = split(received)
    assert status == 408
    assert b"connection: close" in headers
    assert answer["error"]["code"] == "request_timeout"  # type: ignore[index]


async def test_concurrency_caps_of_tenants_and_keys(admin: Admin) -> None:
    async with admin.as_admin() as client:
        made = await client.post(f"{API}/tenants", json={"name": "capped", "max_concurrency": 4})
        assert made.status_code == 201, made.text
        tenant = made.json()
        assert tenant["max_concurrency"] == 4
        path = f"{API}/tenants/{tenant['id']}"
        cleared = await client.patch(path, json={"max_concurrency": None})
        assert cleared.json()["max_concurrency"] is None
        refused = await client.patch(path, json={"max_concurrency": 0})
        assert refused.status_code == 400
        assert refused.json()["error"]["param"] == "max_concurrency"
        key = await client.post(f"{API}/tenants/{tenant['id']}/keys", json={"max_concurrency": 2})
        assert key.status_code == 201, key.text
        key_view = key.json()["api_key"]
        assert key_view["max_concurrency"] == 2
        patched = await client.patch(
            f"{API}/tenants/{tenant['id']}/keys/{key_view['id']}", json={"max_concurrency": 3}
        )
        assert patched.json()["max_concurrency"] == 3
        bad_key = await client.post(
            f"{API}/tenants/{tenant['id']}/keys", json={"max_concurrency": "many"}
        )
        assert bad_key.status_code == 400
        assert bad_key.json()["error"]["param"] == "max_concurrency"
