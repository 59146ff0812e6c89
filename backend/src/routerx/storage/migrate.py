"""Apply the migration history (one, dialect-independent) to whatever DATABASE_URL names."""

from __future__ import annotations

from tortoise import Tortoise
from tortoise.migrations.api import migrate

from routerx.storage.db import tortoise_config


async def apply_migrations(database_url: str) -> None:
    try:
        await migrate(config=tortoise_config(database_url))
    finally:
        await Tortoise.close_connections()
