"""Two gateway processes on one Redis share breaker state; with Redis gone, both keep serving."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from tests.conftest import create_pg_database, drop_pg_database
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.upstream import Scenario
from tests.routing.failover_env import breakers, chat, configure, start_gateway
from tests.support.redis_server import private_redis


async def wait_for_state(url: str, provider: str, state: str, deadline_s: float) -> float:
    started = time.monotonic()
    while True:
        if (await breakers(url))[provider]["state"] == state:
            return time.monotonic() - started
        assert time.monotonic() - started < deadline_s, f"{provider} never became {state}"
        await asyncio.sleep(0.02)


async def readiness(url: str) -> dict[str, str]:
    async with aiohttp.ClientSession() as session, session.get(url + "/readyz") as response:
        return (await response.json())["dependencies"]  # type: ignore[no-any-return]


async def test_breaker_opened_in_one_process_is_honoured_by_the_other() -> None:
    database_url = await create_pg_database()
    try:
        async with FakeOpenAI.running() as primary, FakeOpenAI.running() as secondary:
            await configure(database_url, primary, secondary)
            async with private_redis() as redis:
                env = {"REDIS_URL": redis.url, "GATEWAY_WORKERS": "1"}
                one = await start_gateway(database_url, **env)
                two = await start_gateway(database_url, **env)
                try:
                    assert (await readiness(one.url))["redis"] == "ok"
                    primary.always(Scenario.fail(500))
                    for _ in range(3):  # consecutive_failures is 3 for these providers
                        assert (await chat(one.url)).headers["x-routerx-provider"] == "secondary"
                    assert (await breakers(one.url))["primary"]["state"] == "open"

                    # The other process never saw a failure, yet skips the primary.
                    await wait_for_state(two.url, "primary", "open", deadline_s=2.0)
                    served = len(primary.requests)
                    answer = await chat(two.url)
                    assert answer.headers["x-routerx-attempts"].startswith("primary;skipped_open")
                    assert len(primary.requests) == served

                    await redis.kill()
                    for gateway in (one, two):
                        started = time.monotonic()
                        while (await readiness(gateway.url))["redis"] != "unreachable":
                            assert (await chat(gateway.url)).status == 200
                            assert time.monotonic() - started < 5, "outage not noticed"
                        for _ in range(5):
                            assert (await chat(gateway.url)).status == 200
                finally:
                    one.stop()
                    two.stop()
                assert "Traceback" not in one.output() + two.output()
    finally:
        await drop_pg_database(database_url)
