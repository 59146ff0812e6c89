"""Shared fixtures: real PostgreSQL and Redis, fresh databases per test module."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

PG_ADMIN_URL = os.environ.get("ROUTERX_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_TEST_URL = os.environ.get("ROUTERX_TEST_REDIS", "redis://127.0.0.1:6379/0")


async def create_pg_database() -> str:
    name = f"rx_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


async def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    url = await create_pg_database()
    yield url
    await drop_pg_database(url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    """A fresh, empty SQLite database file for one test."""
    yield f"sqlite://{tmp_path / 'routerx.sqlite3'}"


@pytest.fixture
def redis_url() -> str:
    return REDIS_TEST_URL
