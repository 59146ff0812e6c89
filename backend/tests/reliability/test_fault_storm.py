"""Upstream faults under concurrent load: every request ends within its deadline, and the
gateway's tasks and file descriptors return to where they were."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import aiohttp

from tests.conftest import create_pg_database, drop_pg_database
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.upstream import Scenario
from tests.routing.failover_env import AUTH, INTERNAL, TEXT, configure, start_gateway

CONCURRENCY = 40
FAULTS = [
    Scenario.fail(500),
    Scenario.fail(429, retry_after="1"),
    Scenario(hang=True),
    Scenario(reset_after_chunks=0),
    Scenario(stall_after_chunks=2),
    Scenario(error_after_chunks=1),
    Scenario(delay_s=0.2),
    Scenario(),
]
# Per attempt 1.5 s at most (the providers' total timeout), three attempts, short backoff.
REQUEST_DEADLINE_S = 8.0


async def runtime(session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    async with session.get(url + "/internal/runtime", headers=INTERNAL) as response:
        return await response.json()  # type: ignore[no-any-return]


async def one_request(session: aiohttp.ClientSession, url: str, stream: bool) -> float:
    started = time.monotonic()
    async with session.post(
        url + "/v1/chat/completions", json={**TEXT, "stream": stream}, headers=AUTH
    ) as response:
        await response.read()
        assert response.status in (200, 429, 502, 503, 504), response.status
    return time.monotonic() - started


async def burst(url: str, count: int) -> list[float]:
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:
        return await asyncio.gather(
            *(one_request(session, url, stream=i % 2 == 1) for i in range(count))
        )


async def test_fault_storm_leaves_no_leaks() -> None:
    database_url = await create_pg_database()
    rng = random.Random(7)
    try:
        async with FakeOpenAI.running() as primary, FakeOpenAI.running() as secondary:
            await configure(database_url, primary, secondary)
            gateway = await start_gateway(database_url)
            try:
                await burst(gateway.url, CONCURRENCY)  # warm the upstream connection pools
                async with aiohttp.ClientSession() as session:
                    before = await runtime(session, gateway.url)
                for _ in range(3 * CONCURRENCY):
                    primary.script(rng.choice(FAULTS))
                    secondary.script(rng.choice(FAULTS))
                durations = await burst(gateway.url, 3 * CONCURRENCY)
                assert max(durations) < REQUEST_DEADLINE_S
                primary.reset()
                secondary.reset()

                async with aiohttp.ClientSession() as session:
                    started = time.monotonic()
                    while True:
                        after = await runtime(session, gateway.url)
                        if (
                            after["tasks"] <= before["tasks"]
                            # idle keep-alive connections to the two upstreams may stay
                            # pooled (at most one per concurrent request each); a leak of
                            # 120 requests' worth would not fit under this bound
                            and after["open_fds"] <= before["open_fds"] + 2 * CONCURRENCY
                        ):
                            break
                        assert time.monotonic() - started < 10, (before, after)
                        await asyncio.sleep(0.1)
            finally:
                gateway.stop()
    finally:
        await drop_pg_database(database_url)
