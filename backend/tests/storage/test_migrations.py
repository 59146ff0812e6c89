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
    "budget_alerts",
    "budgets",
    "config_version",
    "price_overrides",
    "providers",
    "request_logs",
    "revoked_tokens",
    "routing_rules",
    "spend_periods",
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


async def _sqlite_indexed_columns(url: str) -> set[tuple[str, str]]:
    async with connected(url):
        connection = Tortoise.get_connection("default")
        _, indexes = await connection.execute_query(
            "SELECT tbl_name, name FROM sqlite_master WHERE type = 'index'"
        )
        columns: set[tuple[str, str]] = set()
        primary_keys: set[tuple[str, str]] = set()
        for index in indexes:
            table = index["tbl_name"]
            _, info = await connection.execute_query(f"PRAGMA index_info('{index['name']}')")
            columns |= {(table, row["name"]) for row in info}
            _, table_info = await connection.execute_query(f"PRAGMA table_info('{table}')")
            primary_keys |= {(table, row["name"]) for row in table_info if row["pk"]}
    return columns - primary_keys  # PostgreSQL's side leaves primary keys out too


async def _postgres_indexed_columns(url: str) -> set[tuple[str, str]]:
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://"))
    try:
        rows = await conn.fetch(
            "SELECT t.relname AS table, a.attname AS column FROM pg_index i "
            "JOIN pg_class t ON t.oid = i.indrelid JOIN pg_attribute a "
            "ON a.attrelid = t.oid AND a.attnum = ANY(i.indkey) "
            "JOIN pg_namespace n ON n.oid = t.relnamespace "
            "WHERE n.nspname = 'public' AND NOT i.indisprimary"
        )
    finally:
        await conn.close()
    return {(r["table"], r["column"]) for r in rows}


async def test_both_databases_end_with_the_same_indexes(pg_url: str, sqlite_url: str) -> None:
    """SQLite rebuilds a table to alter a column; a rebuild must not lose the indexes."""
    await apply_migrations(pg_url)
    await apply_migrations(sqlite_url)
    assert await _sqlite_indexed_columns(sqlite_url) == await _postgres_indexed_columns(pg_url)
