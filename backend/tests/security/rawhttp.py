"""HTTP/1.1 over a raw socket: for header bytes no client library will send (NUL, CR, LF,
latin-1), bounded by a timeout so that a server that neither answers nor closes fails the test."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from dataclasses import dataclass
from typing import Any

TIMEOUT_S = 10.0


@dataclass
class RawResponse:
    status: int | None  # None: the server closed without answering
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def parse(received: bytes) -> RawResponse:
    if not received:
        return RawResponse(None, {}, b"")
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.decode("latin-1").strip().lower()] = value.decode("latin-1").strip()
    if "content-length" in headers:
        body = body[: int(headers["content-length"])]
    return RawResponse(status, headers, body)


async def request(port: int, head: bytes, body: bytes = b"") -> RawResponse:
    """Send `head` (request line and headers, without the blank line) and `body` with
    `Connection: close`; read until the server closes. Blocking sockets in a thread: a server
    that refuses early and resets the connection is an answer, not an asyncio error."""
    return parse(await asyncio.to_thread(_exchange, port, head, body))


def _exchange(port: int, head: bytes, body: bytes) -> bytes:
    deadline = time.monotonic() + TIMEOUT_S
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S) as sock:
        with contextlib.suppress(OSError):  # refused before we finished: read what it said
            sock.sendall(head + b"\r\nConnection: close\r\n\r\n" + body)
        while True:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = sock.recv(65536)
            except TimeoutError:
                raise AssertionError(f"no answer and no close within {TIMEOUT_S}s") from None
            except ConnectionResetError:
                break
            if not data:
                break
            received += data
    return received


def chat_request(authorization: bytes | None, body: bytes) -> bytes:
    lines = [
        b"POST /v1/chat/completions HTTP/1.1",
        b"Host: 127.0.0.1",
        b"Content-Type: application/json",
        b"Content-Length: " + str(len(body)).encode(),
    ]
    if authorization is not None:
        lines.append(b"Authorization: " + authorization)
    return b"\r\n".join(lines)
