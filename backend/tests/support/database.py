"""Prepare a real database for a test: migrations applied, demo data seeded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tortoise import Tortoise
from tortoise.backends.base.executor import EXECUTOR_CACHE

from routerx.storage.db import init_db
from routerx.storage.migrate import apply_migrations
from routerx.storage.seed import seed_demo_data


def _forget_other_dialects_sql() -> None:
    """Tortoise caches each table's INSERT SQL by connection name, not by dialect: a test
    process that used SQLite and PostgreSQL under the name `default` would reuse the wrong SQL.
    Servers never switch databases, so only the tests need this."""
    EXECUTOR_CACHE.clear()


async def prepare(database_url: str, *, seed: bool = True) -> None:
    _forget_other_dialects_sql()
    await apply_migrations(database_url)
    if seed:
        await init_db(database_url)
        try:
            await seed_demo_data()
        finally:
            await Tortoise.close_connections()


@asynccontextmanager
async def connected(database_url: str) -> AsyncIterator[None]:
    """Tortoise connected to the test database, for assertions on what the servers wrote."""
    _forget_other_dialects_sql()
    await init_db(database_url)
    try:
        yield
    finally:
        await Tortoise.close_connections()
