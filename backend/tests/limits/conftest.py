"""Limiters on a fake clock, and a private redis-server that tests may stop and restart."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from routerx.limits import RateLimiter, build_limiter
from routerx.routing.clock import Clock, FakeClock

# A wall-clock time exactly at the start of a minute, so tests know their offset into it.
MINUTE_START = 60 * 28_333_334.0

MakeLimiter = Callable[..., RateLimiter]


def minute_clock(seconds_into_minute: float = 0.0) -> FakeClock:
    return FakeClock(wall=MINUTE_START + seconds_into_minute)


class PrivateRedis:
    """A throwaway redis-server on a free port; it can be stopped and started again there."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            *("redis-server", "--bind", "127.0.0.1", "--port", str(self.port)),
            *("--save", "", "--appendonly", "no"),
            stdout=subprocess.DEVNULL,
        )
        client = Redis.from_url(self.url)
        try:
            for _ in range(250):
                with contextlib.suppress(OSError, RedisError):
                    await client.ping()
                    return
                await asyncio.sleep(0.02)
        finally:
            await client.aclose()
        raise RuntimeError("redis-server did not start")

    async def kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            await self._process.wait()
            self._process = None


@pytest.fixture
async def private_redis() -> AsyncIterator[PrivateRedis]:
    server = PrivateRedis()
    await server.start()
    yield server
    await server.kill()


@pytest.fixture
async def prefix(redis_url: str) -> AsyncIterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"rx-test-rl:{uuid.uuid4().hex}"
    yield prefix
    client = Redis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
async def make(redis_url: str, prefix: str) -> AsyncIterator[MakeLimiter]:
    """Builds limiters sharing through Redis (one per simulated process); stops them after."""
    made: list[RateLimiter] = []

    def make(clock: Clock, url: str = redis_url, **kwargs: object) -> RateLimiter:
        limiter = build_limiter(url, key_prefix=prefix, clock=clock, **kwargs)  # type: ignore[arg-type]
        made.append(limiter)
        return limiter

    yield make
    for limiter in made:
        await limiter.stop()
