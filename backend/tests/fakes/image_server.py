"""A fake image host for the image fetcher's tests: real images, redirects, wrong types, a
large body and a slow one, each request recorded.

Routes: `/cat.png`, `/cat.jpg`, `/cat.gif`, `/cat.webp`, `/drawing.svg`, `/bitmap.bmp`,
`/huge.png` (PNG magic then more than 20 MB), `/slow.png` (waits before answering),
`/missing.png` (404), `/redirect?to=<url>` (302), `/loop` (redirects to itself).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Self

from aiohttp import web

# A valid 1x1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg=="
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32 + b"\xff\xd9"
GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
WEBP = (
    b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00"
    b"/\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"
)
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>'
BMP = b"BM" + b"\x00" * 60
HUGE_BYTES = 21 * 1024 * 1024

STATIC = {
    "/cat.png": (PNG, "image/png"),
    "/cat.jpg": (JPEG, "image/jpeg"),
    "/cat.gif": (GIF, "image/gif"),
    "/cat.webp": (WEBP, "image/webp"),
    "/drawing.svg": (SVG, "image/svg+xml"),
    "/bitmap.bmp": (BMP, "image/bmp"),
}


@dataclass
class FakeImageHost:
    host: str = "127.0.0.1"
    slow_s: float = 2.0
    paths: list[str] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    _port: int = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self._port}"

    def reset(self) -> None:
        self.paths.clear()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.paths.append(request.path)
        if request.path in STATIC:
            data, content_type = STATIC[request.path]
            return web.Response(body=data, content_type=content_type)
        if request.path == "/redirect":
            raise web.HTTPFound(request.query["to"])
        if request.path == "/loop":
            raise web.HTTPFound("/loop")
        if request.path == "/slow.png":
            await asyncio.sleep(self.slow_s)
            return web.Response(body=PNG, content_type="image/png")
        if request.path == "/huge.png":
            return await self._huge(request)
        raise web.HTTPNotFound()

    async def _huge(self, request: web.Request) -> web.StreamResponse:
        # No content-length: the fetcher must count bytes as they arrive.
        response = web.StreamResponse(headers={"content-type": "image/png"})
        await response.prepare(request)
        await response.write(PNG)
        block = b"\x00" * (1024 * 1024)
        for _ in range(HUGE_BYTES // len(block)):
            await response.write(block)
        await response.write_eof()
        return response

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self.handle)
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @classmethod
    @asynccontextmanager
    async def running(cls, host: str = "127.0.0.1") -> AsyncIterator[Self]:
        server = cls(host=host)
        await server.start()
        try:
            yield server
        finally:
            await server.stop()
