"""A running gateway probes a provider whose health checks are on, and counts and prices the
probes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from routerx.storage.config_version import bump_config_version
from routerx.storage.models import Provider, RequestLog
from tests.fakes.openai_server import FakeOpenAI
from tests.support.database import connected, prepare
from tests.support.processes import ServerProcess, base_env, start_server

DEADLINE_S = 20.0


@pytest_asyncio.fixture(loop_scope="session")
async def probed() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI.running() as fake:
        yield fake


async def test_the_gateway_probes_on_its_own_and_accounts_for_it(
    tmp_path: Path, probed: FakeOpenAI
) -> None:
    database_url = f"sqlite://{tmp_path / 'routerx.sqlite3'}"
    await prepare(database_url)
    async with connected(database_url):
        await Provider.create(
            name="probed",
            type="openai_compatible",
            base_url=f"{probed.url}/v1",
            capabilities=["text"],
            settings={"health_check": {"enabled": True, "interval_s": 1, "model": "gpt-4.1-mini"}},
        )
        await bump_config_version()
    server: ServerProcess = await start_server(
        "gateway", base_env(database_url, ENABLE_REAL_CALLS="true")
    )
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DEADLINE_S
        while len(probed.requests) < 2 and loop.time() < deadline:
            await asyncio.sleep(0.05)
        assert len(probed.requests) >= 2, server.output()
        assert probed.requests[0].body["model"] == "gpt-4.1-mini"
        assert probed.requests[0].body["max_tokens"] == 1

        async with (
            aiohttp.ClientSession() as session,
            session.get(server.url + "/metrics") as response,
        ):
            exposition = await response.text()
        assert 'routerx_health_probes_total{outcome="success",provider="probed"}' in exposition

        assert 'routerx_cost_usd_total{model="gpt-4.1-mini",provider="probed"}' in exposition, (
            "probes are counted in the cost metric"
        )

        rows: list[RequestLog] = []
        while not rows and loop.time() < deadline:
            async with connected(database_url):
                rows = await RequestLog.filter(api="health_check")
            await asyncio.sleep(0.05)
        assert rows and rows[0].provider == "probed" and rows[0].tenant_id is None
        assert rows[0].total_tokens == 19  # the fake's usage, accounted like any call
        # priced like any call: 12 prompt tokens x $0.40/M + 7 completion tokens x $1.60/M
        assert rows[0].cost_picousd == 12 * 400_000 + 7 * 1_600_000
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _no_leftover_fake_state(probed: FakeOpenAI) -> None:
    probed.reset()
