"""The admin app's own Tortoise context, made current around every request.

Tortoise 1.x finds its connections through a ContextVar. Hypercorn runs the lifespan and each
request in different tasks, so a context set up in the lifespan is not visible to requests. The
global fallback (`_enable_global_fallback`) would allow only one app per process; activating the
app's own context per request lets the admin API, the gateway and test code share one process,
each with its own database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from starlette.types import ASGIApp, Receive, Scope, Send
from tortoise.context import TortoiseContext, _current_context

from routerx.storage.db import tortoise_config


class DatabaseScope:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._context: TortoiseContext | None = None

    async def open(self) -> None:
        context = TortoiseContext()
        with self._activate(context):
            await context.init(config=tortoise_config(self.database_url))
        self._context = context

    async def close(self) -> None:
        if self._context is not None:
            await self._context.close_connections()
            self._context = None

    @contextmanager
    def active(self) -> Iterator[None]:
        if self._context is None:
            raise RuntimeError("the database scope is not open")
        with self._activate(self._context):
            yield

    @staticmethod
    @contextmanager
    def _activate(context: TortoiseContext) -> Iterator[None]:
        token = _current_context.set(context)
        try:
            yield
        finally:
            _current_context.reset(token)


class DatabaseScopeMiddleware:
    """Pure ASGI middleware: every HTTP request runs with the app's database context."""

    def __init__(self, app: ASGIApp, database: DatabaseScope) -> None:
        self.app = app
        self.database = database

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with self.database.active():
            await self.app(scope, receive, send)
