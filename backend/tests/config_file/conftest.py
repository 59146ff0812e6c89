"""Each test gets a fresh, migrated database: PostgreSQL or SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import create_pg_database, drop_pg_database
from tests.support.database import connected, prepare


@pytest.fixture(params=["postgres", "sqlite"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A migrated database (no demo data), connected for the test's own queries."""
    if request.param == "postgres":
        url = await create_pg_database()
    else:
        url = f"sqlite://{tmp_path / 'routerx.sqlite3'}"
    try:
        await prepare(url, seed=False)
        async with connected(url):
            yield url
    finally:
        if request.param == "postgres":
            await drop_pg_database(url)
