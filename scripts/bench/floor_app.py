"""The "floor" target of `make bench`: the cheapest OpenAI-compatible pass-through on RouterX's
own stack (Starlette + hypercorn (uvloop) + aiohttp + msgspec), with a key check only. No
gateway on this stack can be cheaper; every feature RouterX adds is paid out of the gap.

The chat route is a plain ASGI callable mounted in a Starlette app (Starlette would wrap a plain
function in its request/response machinery): check `Authorization: Bearer <key>`, read and
decode the body, set `model` to the upstream's, encode, POST it with one shared keep-alive
aiohttp session per worker, and return the answer; a stream is relayed chunk by chunk, as bytes.

Run: FLOOR_UPSTREAM_URL=http://127.0.0.1:PORT/v1/chat/completions FLOOR_API_KEY=KEY \\
    hypercorn -k uvloop -w 2 -b 127.0.0.1:8000 scripts/bench/floor_app.py:app
"""

from __future__ import annotations

import hmac
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

JSON_HEADERS = [(b"content-type", b"application/json")]
SSE_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
UPSTREAM_HEADERS = {"Content-Type": "application/json"}
INVALID_KEY = b'{"error":{"message":"invalid API key","type":"invalid_request_error"}}'
INVALID_BODY = b'{"error":{"message":"invalid JSON body","type":"invalid_request_error"}}'
UPSTREAM_DOWN = b'{"error":{"message":"upstream unreachable","type":"api_error"}}'


class ChatProxy:
    """POST /v1/chat/completions as a raw ASGI app."""

    def __init__(self, upstream_url: str, api_key: str, upstream_model: str) -> None:
        self.upstream_url = upstream_url
        self.upstream_model = upstream_model
        # An empty key matches nothing: without FLOOR_API_KEY every request is refused.
        self._authorization = f"Bearer {api_key}".encode() if api_key else None
        self._decoder = msgspec.json.Decoder(dict[str, Any])
        self._encoder = msgspec.json.Encoder()
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        """One per worker, created on first use so that it belongs to the worker's loop."""
        if self._session is None:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _authorized(self, scope: Scope) -> bool:
        if self._authorization is None:
            return False
        for name, value in scope["headers"]:
            if name == b"authorization":
                return hmac.compare_digest(value, self._authorization)
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._authorized(scope):
            await _answer(send, 401, INVALID_KEY)
            return
        try:
            request = self._decoder.decode(await _read_body(receive))
        except msgspec.MsgspecError:
            await _answer(send, 400, INVALID_BODY)
            return
        request["model"] = self.upstream_model
        started = False
        try:
            async with self.session().post(
                self.upstream_url, data=self._encoder.encode(request), headers=UPSTREAM_HEADERS
            ) as response:
                if request.get("stream") is not True or response.status != 200:
                    await _answer(send, response.status, await response.read())
                    return
                started = True
                await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
                async for chunk in response.content.iter_any():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except aiohttp.ClientError:
            if not started:
                await _answer(send, 502, UPSTREAM_DOWN)
                return
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _answer(send: Send, status: int, body: bytes) -> None:
    headers = [*JSON_HEADERS, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def healthz(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def create_app(upstream_url: str, api_key: str, upstream_model: str) -> Starlette:
    chat = ChatProxy(upstream_url, api_key, upstream_model)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await chat.close()

    routes = [
        Route("/v1/chat/completions", chat, methods=["POST"]),
        Route("/healthz", healthz),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


app = create_app(
    os.environ.get("FLOOR_UPSTREAM_URL", "http://127.0.0.1:8080/v1/chat/completions"),
    os.environ.get("FLOOR_API_KEY", ""),
    os.environ.get("FLOOR_UPSTREAM_MODEL", "bench-upstream"),
)
