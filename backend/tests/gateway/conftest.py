"""A real gateway process over a real, migrated and seeded database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from tests.conftest import create_pg_database, drop_pg_database
from tests.support.database import prepare
from tests.support.processes import ServerProcess, base_env, start_server

DEMO_KEY = "demo_key_fake_123456"
AUTH = {"Authorization": f"Bearer {DEMO_KEY}", "Content-Type": "application/json"}


@dataclass
class RunningGateway:
    server: ServerProcess
    database_url: str

    @property
    def url(self) -> str:
        return self.server.url


async def _gateway(database_url: str, **env: str) -> AsyncIterator[RunningGateway]:
    await prepare(database_url)
    server = await start_server("gateway", base_env(database_url, **env))
    try:
        yield RunningGateway(server, database_url)
    finally:
        server.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def pg_gateway() -> AsyncIterator[RunningGateway]:
    url = await create_pg_database()
    try:
        async for gateway in _gateway(url, MAX_BODY_BYTES="65536"):
            yield gateway
    finally:
        await drop_pg_database(url)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def sqlite_gateway(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningGateway]:
    path: Path = tmp_path_factory.mktemp("sqlite") / "routerx.sqlite3"
    async for gateway in _gateway(f"sqlite://{path}", MAX_BODY_BYTES="65536"):
        yield gateway


@pytest.fixture(params=["postgres", "sqlite"])
def gateway(request: pytest.FixtureRequest) -> RunningGateway:
    name = "pg_gateway" if request.param == "postgres" else "sqlite_gateway"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]
