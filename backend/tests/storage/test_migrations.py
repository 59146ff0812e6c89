"""One migration history, in sync with the models, applies to PostgreSQL and to SQLite."""

from __future__ import annotations

import asyncpg
import pytest
from tortoise import Tortoise
from tortoise.migrations.autodetector import MigrationAutodetector

from routerx.storage.db import tortoise_config
from routerx.storage.migrate import apply_migrations
from routerx.storage.migration_config import TORTOISE_ORM
from tests.support.database import connected

EXPECTED_TABLES = {
    "admin_users",
    "api_keys",
    "audit_log",
    "config_version",
    "providers",
    "request_logs",
    "revoked_tokens",
    "routing_rules",
    "tenants",
}


async def test_history_matches_the_models() -> None:
    await Tortoise.init(config=TORTOISE_ORM, init_connections=False)
    try:
        detector = MigrationAutodetector(Tortoise.apps, TORTOISE_ORM["apps"])
        writers = await detector.changes()
    finally:
        await Tortoise.close_connections()
    pending = [op.describe() for w in writers for op in w.operations]
    assert pending == [], f"models changed without a migration (run `make migrations`): {pending}"


async def test_applies_to_postgres_from_empty_and_is_idempotent(pg_url: str) -> None:
    await apply_migrations(pg_url)
    await apply_migrations(pg_url)
    conn = await asyncpg.connect(pg_url.replace("postgres://", "postgresql://"))
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    finally:
        await conn.close()
    assert {r["tablename"] for r in rows} >= EXPECTED_TABLES


async def test_applies_to_sqlite_from_empty_and_is_idempotent(sqlite_url: str) -> None:
    await apply_migrations(sqlite_url)
    await apply_migrations(sqlite_url)
    async with connected(sqlite_url):
        _, rows = await Tortoise.get_connection("default").execute_query(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
        )
    assert {r["name"] for r in rows} >= EXPECTED_TABLES


@pytest.mark.parametrize("url", ["postgresql://u@h:5432/d", "postgresql+asyncpg://u@h/d"])
def test_postgres_url_spellings_are_accepted(url: str) -> None:
    assert tortoise_config(url)["connections"]["default"].startswith("postgres://")
