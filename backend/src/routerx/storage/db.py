"""Tortoise configuration for PostgreSQL or the embedded SQLite default."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from tortoise import Tortoise

log = logging.getLogger("routerx.db")
MODELS_MODULE = "routerx.storage.models"
MIGRATIONS_MODULE = "routerx.storage.migrations"


def normalize_url(url: str) -> str:
    """Accept the URL spellings users write (postgresql://, postgresql+asyncpg://)."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres+asyncpg://"):
        if url.startswith(prefix):
            return "postgres://" + url[len(prefix) :]
    return url


def ensure_sqlite_dir(url: str) -> None:
    if url.startswith("sqlite://") and url != "sqlite://:memory:":
        Path(url.removeprefix("sqlite://")).parent.mkdir(parents=True, exist_ok=True)


def tortoise_config(database_url: str) -> dict[str, Any]:
    url = normalize_url(database_url)
    ensure_sqlite_dir(url)
    return {
        "connections": {"default": url},
        "apps": {
            "models": {
                "models": [MODELS_MODULE],
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def init_db(database_url: str) -> None:
    await Tortoise.init(config=tortoise_config(database_url))


async def close_db(timeout_s: float | None = None) -> None:
    """Close every connection; past `timeout_s` give up politely closing (shutting down)."""
    try:
        async with asyncio.timeout(timeout_s):
            await Tortoise.close_connections()
    except TimeoutError:
        log.warning("database connections did not close within %.0f s", timeout_s)
