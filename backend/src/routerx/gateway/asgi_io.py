"""Small ASGI helpers for the hot path: headers, bounded body reads, JSON responses."""

from __future__ import annotations

import asyncio
import contextlib

from starlette.types import Receive, Scope, Send

from routerx.gateway.errors import GatewayError, body_too_large

Headers = list[tuple[bytes, bytes]]
JSON_CONTENT_TYPE = (b"content-type", b"application/json")


def header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value  # type: ignore[no-any-return]
    return None


async def read_body(receive: Receive, scope: Scope, limit: int) -> bytes:
    """Read the whole body, refusing it as soon as more than `limit` bytes have arrived.

    A Content-Length above the limit is refused before reading; a smaller one is not trusted.
    """
    declared = header(scope, b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise body_too_large(limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected
        body = message.get("body", b"")
        size += len(body)
        if size > limit:
            raise body_too_large(limit)
        chunks.append(body)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def discard_body(receive: Receive, timeout_s: float) -> None:
    """Read and drop what is left of a refused body, for a moment, before answering: a server
    that answers and closes while the client is still sending resets the connection, and the
    client may never see the answer."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout_s):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect" or not message.get("more_body", False):
                    return


class ClientDisconnected(Exception):
    """The client went away before the gateway answered."""


async def send_bytes(send: Send, status: int, body: bytes, headers: Headers) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, JSON_CONTENT_TYPE, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def send_error(send: Send, error: GatewayError, headers: Headers) -> None:
    extra = [(k.encode(), v.encode()) for k, v in error.headers.items()]
    await send_bytes(send, error.status, error.body(), [*headers, *extra])
