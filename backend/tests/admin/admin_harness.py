"""Test harness: the admin API on a real hypercorn server, a real port and a real, migrated
database, next to a fake of the gateway's internal endpoints (also a real server)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import httpx2
import msgspec
from hypercorn.asyncio import serve
from hypercorn.config import Config
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp
from tortoise.backends.base.executor import EXECUTOR_CACHE

from routerx.admin.app import build_admin_app
from routerx.admin.database import DatabaseScope
from routerx.admin.sessions import credential_tag
from routerx.admin.users import ensure_default_admin
from routerx.auth.internal import INTERNAL_HEADER, internal_token
from routerx.auth.jwt import TOKEN_LIFETIME_S, issue_token
from routerx.auth.passwords import hash_password
from routerx.settings import Settings
from routerx.storage.migrate import apply_migrations
from routerx.storage.models import AdminUser
from tests.conftest import create_pg_database, drop_pg_database

JWT_SECRET = "admin-tests-" + "k" * 40
INTERNAL_TOKEN = "admin-tests-internal-" + "t" * 40
VIEWER_PASSWORD = "viewer-pass-1"
CLOSED_PORT_URL = "http://127.0.0.1:9"  # discard port: nothing listens, connections are refused


async def wait_until(check: Callable[[], Awaitable[bool]], timeout_s: float = 10.0) -> None:
    """Poll `check` until it is true; fail after the deadline (never a fixed sleep)."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        await asyncio.sleep(0.02)


@asynccontextmanager
async def serving(app: ASGIApp) -> AsyncIterator[str]:
    """Serve `app` with hypercorn on a free 127.0.0.1 port; yield its base URL."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    port = listener.getsockname()[1]
    config = Config()
    config.bind = [f"fd://{listener.detach()}"]  # hypercorn owns and closes it
    config.graceful_timeout = 1.0
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
    base_url = f"http://127.0.0.1:{port}"

    async def up() -> bool:
        if task.done():
            task.result()  # surface a startup failure
        try:
            async with httpx2.AsyncClient() as client:
                await client.get(base_url + "/")
        except httpx2.TransportError:
            return False
        return True

    try:
        await wait_until(up)
        yield base_url
    finally:
        stop.set()
        await task


async def migrate_database(url: str) -> None:
    # In its own task: migrate() leaves its Tortoise context in the calling task's context.
    await asyncio.create_task(apply_migrations(url))


@dataclass
class FakeGateway:
    """The gateway's internal endpoints as the contract describes them, with canned state."""

    token: str
    breakers: dict[str, dict[str, Any]] = field(default_factory=dict)
    resets: list[str] = field(default_factory=list)
    explained: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0

    def app(self) -> Starlette:
        def authorized(request: Request) -> bool:
            if request.headers.get(INTERNAL_HEADER) == self.token:
                return True
            self.refused += 1
            return False

        async def breakers(request: Request) -> Response:
            if not authorized(request):
                return JSONResponse({"error": "forbidden"}, 403)
            return JSONResponse({"breakers": self.breakers})

        async def reset(request: Request) -> Response:
            if not authorized(request):
                return JSONResponse({"error": "forbidden"}, 403)
            name = request.path_params["provider"]
            if name not in self.breakers:
                return JSONResponse({"error": "unknown provider"}, 404)
            self.resets.append(name)
            self.breakers[name] = {
                **self.breakers[name],
                "state": "closed",
                "failures": 0,
                "consecutive_failures": 0,
                "open_until": None,
            }
            return JSONResponse({"provider": name, "state": "closed"})

        async def explain(request: Request) -> Response:
            if not authorized(request):
                return JSONResponse({"error": "forbidden"}, 403)
            asked = msgspec.json.decode(await request.body())
            self.explained.append(asked)
            if asked["model"] == "no-such-model":
                return JSONResponse(
                    {
                        "rule": None,
                        "reason": "no rule matches",
                        "targets": [],
                        "error": "model_not_found",
                    }
                )
            return JSONResponse(
                {
                    "rule": {
                        "id": 1,
                        "name": "r",
                        "model_pattern": "*",
                        "capability": asked["capability"],
                        "tenant_id": asked["tenant_id"],
                    },
                    "reason": f"pattern * matches {asked['model']}",
                    "targets": [
                        {
                            "provider": "p1",
                            "model": asked["model"],
                            "tier": 0,
                            "weight": 1,
                            "capable": True,
                            "breaker_state": "closed",
                            "eligible": True,
                            "why": "primary",
                        }
                    ],
                    "error": None,
                }
            )

        return Starlette(
            routes=[
                Route("/internal/breakers", breakers, methods=["GET"]),
                Route("/internal/breakers/{provider}/reset", reset, methods=["POST"]),
                Route("/internal/route-explain", explain, methods=["POST"]),
            ]
        )


@dataclass
class Admin:
    """A running admin API plus a database context of the test's own on the same database."""

    base_url: str
    settings: Settings
    database: DatabaseScope
    gateway: FakeGateway
    admin_token: str = ""
    viewer_token: str = ""
    viewer_id: int = 0

    def client(
        self, token: str | None = None, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx2.AsyncClient:
        sent = {"authorization": f"Bearer {token}"} if token else {}
        sent.update(headers or {})
        return httpx2.AsyncClient(base_url=self.base_url, headers=sent, timeout=10, **kwargs)

    def as_admin(self) -> httpx2.AsyncClient:
        return self.client(self.admin_token)

    def as_viewer(self) -> httpx2.AsyncClient:
        return self.client(self.viewer_token)

    async def token_for(self, username: str, lifetime_s: int = TOKEN_LIFETIME_S) -> str:
        """A session token made directly, as a login would make it."""
        with self.database.active():
            user = await AdminUser.get(username=username)
        return issue_token(username, credential_tag(user), JWT_SECRET, lifetime_s=lifetime_s)[0]

    async def login(self, username: str, password: str) -> str:
        async with self.client() as client:
            response = await client.post(
                "/api/v1/auth/login", json={"username": username, "password": password}
            )
        assert response.status_code == 200, response.text
        token: str = response.json()["token"]
        return token


def admin_settings(database_url: str, **overrides: Any) -> Settings:
    return replace(
        Settings(database_url=database_url, jwt_secret=JWT_SECRET, internal_token=INTERNAL_TOKEN),
        **overrides,
    )


def build_with_gateway_url(settings: Settings, gateway_url: str) -> Starlette:
    return build_admin_app(replace(settings, gateway_internal_url=gateway_url))


@asynccontextmanager
async def running_admin(
    database_url: str, *, gateway: str = "fake", **overrides: Any
) -> AsyncIterator[Admin]:
    """`gateway`: "fake" (FakeGateway on a real port), "down" (nothing listens), or a URL."""
    # Tortoise caches each table's INSERT SQL by connection name, not dialect: a process that
    # ran another dialect's tests under the same connection name would reuse its SQL.
    EXECUTOR_CACHE.clear()
    await migrate_database(database_url)
    database = DatabaseScope(database_url)
    await database.open()
    settings = admin_settings(database_url, **overrides)
    fake = FakeGateway(internal_token(settings))
    try:
        with database.active():
            await ensure_default_admin()
            viewer = await AdminUser.create(
                username="viewer", password_hash=hash_password(VIEWER_PASSWORD), role="viewer"
            )
        async with AsyncExitStack() as stack:
            if gateway == "fake":
                gateway_url = await stack.enter_async_context(serving(fake.app()))
            else:
                gateway_url = CLOSED_PORT_URL if gateway == "down" else gateway
            app = build_with_gateway_url(settings, gateway_url)
            base_url = await stack.enter_async_context(serving(app))
            admin = Admin(base_url, settings, database, fake, viewer_id=viewer.id)
            admin.admin_token = await admin.login("admin", "admin123")
            admin.viewer_token = await admin.login("viewer", VIEWER_PASSWORD)
            yield admin
    finally:
        await database.close()


@asynccontextmanager
async def pg_admin(**overrides: Any) -> AsyncIterator[Admin]:
    url = await create_pg_database()
    try:
        async with running_admin(url, **overrides) as admin:
            yield admin
    finally:
        await drop_pg_database(url)
