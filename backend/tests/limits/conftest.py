"""Limiters on a fake clock, and a private redis-server that tests may stop and restart."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from routerx.core.clock import Clock, FakeClock
from routerx.limits import RateLimiter, build_limiter
from tests.support.redis_server import PrivateRedis, own_key_prefix
from tests.support.redis_server import private_redis as running_private_redis

# A wall-clock time exactly at the start of a minute, so tests know their offset into it.
MINUTE_START = 60 * 28_333_334.0

MakeLimiter = Callable[..., RateLimiter]


def minute_clock(seconds_into_minute: float = 0.0) -> FakeClock:
    return FakeClock(wall=MINUTE_START + seconds_into_minute)


@pytest.fixture
async def private_redis() -> AsyncIterator[PrivateRedis]:
    async with running_private_redis() as server:
        yield server


@pytest.fixture
async def prefix(redis_url: str) -> AsyncIterator[str]:
    async with own_key_prefix(redis_url, "rl") as own:
        yield own


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
