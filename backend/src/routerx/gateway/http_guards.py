"""HTTP-level guards for every RouterX listener (gateway and admin API).

- A request that carries both `Content-Length` and `Transfer-Encoding` is the classic request
  smuggling shape (RFC 9112 section 6.1: a server may refuse it and must then close): it is
  answered 400 in OpenAI's error shape and the connection is closed, before any application
  sees it, so that nothing pipelined behind it is read as a request of its own.
- Open client connections per worker are capped (`MAX_CONNECTIONS`): one over the cap gets a
  503 with `Retry-After` and is closed at once, before any of its bytes are read.
- A request's headers must all arrive within `HEADER_READ_TIMEOUT_S` of its first byte, or
  the connection is closed (a slowloris client would otherwise hold it until the keep-alive
  timeout); the body has its own deadline (`BODY_READ_TIMEOUT_S`, in each app).
- HTTP/2 over cleartext (an `Upgrade: h2c` or the prior-knowledge preface) is served only when
  `H2C_ENABLED` is on; otherwise the upgrade is ignored (plain HTTP/1.1, as RFC 9110 allows) and
  the preface is parsed as the HTTP/1 request it looks like, which nothing serves.

All of them live in hypercorn's connection handling, which has no setting for them.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from hypercorn.asyncio.tcp_server import TCPServer
from hypercorn.events import Closed, Event, RawData
from hypercorn.protocol.h11 import H11Protocol

from routerx.gateway.errors import GatewayError
from routerx.settings import Settings
from routerx.telemetry import metrics

RETRY_AFTER_S = 1


def ambiguous_framing() -> GatewayError:
    return GatewayError(
        400,
        "A request may not carry both Content-Length and Transfer-Encoding.",
        "invalid_request_error",
        None,
        "ambiguous_request_framing",
        {"connection": "close"},
    )


def too_many_connections() -> GatewayError:
    return GatewayError(
        503,
        "The server has too many open connections. Retry later.",
        "service_unavailable",
        None,
        "too_many_connections",
        {"retry-after": str(RETRY_AFTER_S)},
    )


def _ambiguous(headers: Any) -> bool:
    length = chunked = False
    for name, _value in headers:
        if name == b"content-length":
            length = True
        elif name == b"transfer-encoding":
            chunked = True
    return length and chunked


class ConnectionGuards:
    """This worker process's open connections against the cap, the header deadline, and
    whether h2c is on."""

    __slots__ = ("closing", "h2c_enabled", "header_timeout_s", "limit", "open")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0
        self.h2c_enabled = False
        self.header_timeout_s = 10.0
        self.closing: set[asyncio.Task[None]] = set()


_cap = ConnectionGuards(1000)
_original_run = TCPServer.run
_original_check_protocol = H11Protocol._check_protocol
_original_handle = H11Protocol.handle
_original_create_stream = H11Protocol._create_stream
HEADER_DEADLINE = "_routerx_header_deadline"


def _refusal_bytes(error: GatewayError) -> bytes:
    body = error.body()
    head = [
        f"HTTP/1.1 {error.status} Service Unavailable",
        "content-type: application/json",
        f"content-length: {len(body)}",
        *(f"{name}: {value}" for name, value in error.headers.items()),
        "connection: close",
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _run_within_cap(self: Any) -> None:
    if _cap.open >= _cap.limit:
        metrics.OVERLOAD_REFUSALS.labels("too_many_connections").inc()
        try:
            self.writer.write(_refusal_bytes(too_many_connections()))
            await self.writer.drain()
        except OSError:
            pass
        finally:
            self.writer.close()
        return
    _cap.open += 1
    metrics.OPEN_CONNECTIONS.set(_cap.open)
    try:
        await _original_run(self)
    finally:
        _cap.open -= 1
        metrics.OPEN_CONNECTIONS.set(_cap.open)


async def _check_protocol_h2c_off(self: Any, event: h11.Request) -> None:
    if _cap.h2c_enabled:
        await _original_check_protocol(self, event)
    # Off: an `Upgrade: h2c` is ignored and the request is served over HTTP/1.1.


async def _handle_with_header_deadline(self: Any, event: Event) -> None:
    if isinstance(event, RawData):
        if event.data and self.stream is None and getattr(self, HEADER_DEADLINE, None) is None:
            loop = asyncio.get_running_loop()
            setattr(self, HEADER_DEADLINE, loop.call_later(_cap.header_timeout_s, _too_slow, self))
    elif isinstance(event, Closed):
        _disarm(self)
    await _original_handle(self, event)


async def _create_stream_checked(self: Any, request: h11.Request) -> None:
    _disarm(self)  # the headers are complete
    if _ambiguous(request.headers):
        # Answered here, before any application sees it and before h11 parses what follows:
        # no stream is created, so the rest of the connection is never read as a request.
        error = ambiguous_framing()
        body = error.body()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await self._send_h11_event(h11.Response(status_code=400, headers=headers))
        await self._send_h11_event(h11.Data(data=body))
        await self._send_h11_event(h11.EndOfMessage())
        await self.send(Closed())
        return
    await _original_create_stream(self, request)


def _disarm(protocol: Any) -> None:
    deadline = getattr(protocol, HEADER_DEADLINE, None)
    if deadline is not None:
        deadline.cancel()
        setattr(protocol, HEADER_DEADLINE, None)


def _too_slow(protocol: Any) -> None:
    setattr(protocol, HEADER_DEADLINE, None)
    task = asyncio.ensure_future(protocol.send(Closed()))
    _cap.closing.add(task)
    task.add_done_callback(_cap.closing.discard)


def install(settings: Settings) -> None:
    """Idempotent; called in every process that serves with hypercorn."""
    _cap.limit = settings.max_connections
    _cap.h2c_enabled = settings.h2c_enabled
    _cap.header_timeout_s = settings.header_read_timeout_s
    TCPServer.run = _run_within_cap  # type: ignore[method-assign]
    H11Protocol._check_protocol = _check_protocol_h2c_off  # type: ignore[method-assign]
    H11Protocol.handle = _handle_with_header_deadline  # type: ignore[method-assign]
    H11Protocol._create_stream = _create_stream_checked  # type: ignore[method-assign]
