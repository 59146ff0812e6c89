"""Test harness: the admin API on a real hypercorn server, a real port and a real, migrated
database; helpers shared by the admin test modules."""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import asyncpg
import httpx2
from hypercorn.asyncio import serve
from hypercorn.config import Config
from starlette.types import ASGIApp
from tortoise import Tortoise
from tortoise.migrations.api import migrate

from routerx.admin.app import build_admin_app
from routerx.admin.database import DatabaseScope
from routerx.admin.users import ensure_default_admin
from routerx.auth.passwords import hash_password
from routerx.settings import Settings
from routerx.storage.db import tortoise_config
from routerx.storage.models import AdminUser

PG_ADMIN_URL = os.environ.get("ROUTERX_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
JWT_SECRET = "admin-tests-" + "k" * 40
VIEWER_PASSWORD = "viewer-pass-1"


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


async def create_pg_database() -> str:
    name = f"rx_admin_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


async def drop_pg_database(url: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await conn.close()


async def migrate_database(url: str) -> None:
    async def run() -> None:
        try:
            await migrate(config=tortoise_config(url))
        finally:
            await Tortoise.close_connections()

    # In its own task: migrate() leaves its Tortoise context in the calling task's context.
    await asyncio.create_task(run())


@dataclass
class Admin:
    """A running admin API plus a database context of the test's own on the same database."""

    base_url: str
    settings: Settings
    database: DatabaseScope
    admin_token: str
    viewer_token: str
    viewer_id: int

    def client(self, token: str | None = None, **kwargs: Any) -> httpx2.AsyncClient:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return httpx2.AsyncClient(base_url=self.base_url, headers=headers, timeout=10, **kwargs)

    def as_admin(self) -> httpx2.AsyncClient:
        return self.client(self.admin_token)

    def as_viewer(self) -> httpx2.AsyncClient:
        return self.client(self.viewer_token)

    async def login(self, username: str, password: str) -> str:
        async with self.client() as client:
            response = await client.post(
                "/api/v1/auth/login", json={"username": username, "password": password}
            )
        assert response.status_code == 200, response.text
        token: str = response.json()["token"]
        return token


def admin_settings(database_url: str, **overrides: Any) -> Settings:
    return replace(Settings(database_url=database_url, jwt_secret=JWT_SECRET), **overrides)


@asynccontextmanager
async def running_admin(database_url: str, **overrides: Any) -> AsyncIterator[Admin]:
    await migrate_database(database_url)
    database = DatabaseScope(database_url)
    await database.open()
    try:
        with database.active():
            await ensure_default_admin()
            viewer = await AdminUser.create(
                username="viewer", password_hash=hash_password(VIEWER_PASSWORD), role="viewer"
            )
        settings = admin_settings(database_url, **overrides)
        async with serving(build_admin_app(settings)) as base_url:
            admin = Admin(base_url, settings, database, "", "", viewer.id)
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
