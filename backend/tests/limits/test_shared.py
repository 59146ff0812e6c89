"""Counts shared through the real Redis: two limiters stand in for two processes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import pytest
from redis.asyncio import Redis

from routerx.core.clock import SystemClock
from routerx.limits import UNLIMITED, Decision, Limits, RateLimiter, build_limiter
from tests.limits.conftest import MakeLimiter, PrivateRedis, minute_clock

TENANT, KEY, OTHER_KEY = 1, 10, 11
ROOMY_KEY = Limits(rpm=1000, tpm=1_000_000)


def ask(
    limiter: RateLimiter,
    tenant: Limits,
    tokens: int = 0,
    key_id: int = KEY,
    key_limits: Limits = ROOMY_KEY,
) -> Decision:
    return limiter.check_and_reserve(TENANT, tenant, key_id, key_limits, tokens)


def allowed(
    limiter: RateLimiter,
    times: int,
    tenant: Limits,
    key_id: int = KEY,
    key_limits: Limits = ROOMY_KEY,
) -> list[bool]:
    return [
        ask(limiter, tenant, key_id=key_id, key_limits=key_limits).allowed for _ in range(times)
    ]


async def sync(*limiters: RateLimiter) -> None:
    for limiter in limiters:
        assert await limiter.sync_once()


def outage_warnings(caplog: pytest.LogCaptureFixture) -> int:
    return len([r for r in caplog.records if "store unavailable" in r.getMessage()])


async def test_a_second_process_refuses_what_the_first_used(make: MakeLimiter) -> None:
    clock = minute_clock()
    one, two = make(clock), make(clock)
    tenant = Limits(rpm=5)
    assert allowed(two, 1, tenant, key_id=OTHER_KEY) == [True]
    assert allowed(one, 4, tenant) == [True] * 4
    await sync(one, two)
    refused = ask(two, tenant, key_id=OTHER_KEY)
    assert (refused.allowed, refused.scope, refused.limit) == (False, "tenant", "rpm")
    assert refused.retry_after_s == pytest.approx(72.0, abs=0.01)


async def test_a_subject_used_again_is_refreshed_by_the_next_round(make: MakeLimiter) -> None:
    clock = minute_clock()
    one, two = make(clock), make(clock)
    tenant = Limits(rpm=6)
    assert allowed(one, 1, tenant) == [True]
    await sync(one)
    assert allowed(two, 4, tenant, key_id=OTHER_KEY) == [True] * 4
    await sync(two, one)  # `one` did not use the tenant since its last round: no pull
    # Until its next round it decides on the totals it last saw (1) plus its own counts:
    # this is the overshoot the sharing accepts, one interval's worth of this process.
    assert allowed(one, 1, tenant) == [True]
    await sync(one)
    assert allowed(one, 1, tenant) == [False]


async def test_a_window_reused_after_missed_rounds_is_shared_again(make: MakeLimiter) -> None:
    clock = minute_clock()
    one, two = make(clock), make(clock)
    tenant = Limits(rpm=3)
    for tenant_id in [*range(100, 200), TENANT]:  # ours is last, out of eviction's first reach
        one.check_and_reserve(tenant_id, tenant, KEY, UNLIMITED, 0)
    clock.advance(150)  # no round ran meanwhile: those counts are out of the window
    await sync(one)
    assert allowed(one, 3, tenant, key_limits=UNLIMITED) == [True] * 3
    await sync(one)
    ask(two, tenant, key_id=OTHER_KEY)
    await sync(two)
    assert not ask(two, tenant, key_id=OTHER_KEY).allowed


async def test_settled_tokens_are_shared(make: MakeLimiter) -> None:
    clock = minute_clock()
    one, two = make(clock), make(clock)
    tenant = Limits(tpm=1000)
    ask(two, tenant, tokens=0, key_id=OTHER_KEY)
    reserved = ask(one, tenant, tokens=900)
    await sync(one, two)
    assert not ask(two, tenant, tokens=200, key_id=OTHER_KEY).allowed
    one.settle(reserved.reservation, 100)
    await sync(one, two)
    shared = ask(two, tenant, tokens=200, key_id=OTHER_KEY)
    assert shared.allowed
    assert (b"x-ratelimit-remaining-tokens", b"700") in shared.headers


async def test_the_previous_minute_is_shared_too(make: MakeLimiter) -> None:
    clock = minute_clock()
    one, two = make(clock), make(clock)
    tenant = Limits(rpm=10)
    ask(two, tenant, key_id=OTHER_KEY)
    assert allowed(one, 9, tenant) == [True] * 9
    await sync(one)
    clock.advance(90)  # the 10 requests of the last minute weigh 5 now
    await sync(two)
    assert allowed(two, 6, tenant, key_id=OTHER_KEY) == [True] * 5 + [False]


async def test_shared_keys_carry_the_prefix_and_a_ttl(
    make: MakeLimiter, redis_url: str, prefix: str
) -> None:
    limiter = make(minute_clock(), key_ttl_s=150.0)
    ask(limiter, Limits(rpm=5), tokens=7)
    await sync(limiter)
    client = Redis.from_url(redis_url, decode_responses=True)
    try:
        keys = sorted([key async for key in client.scan_iter(match=f"{prefix}:*")])
        minute = int(minute_clock().time() // 60)
        assert keys == [f"{prefix}:k:{KEY}:{minute}", f"{prefix}:t:{TENANT}:{minute}"]
        for key in keys:
            assert 140_000 < await client.pttl(key) <= 150_000
        assert await client.hgetall(keys[1]) == {"r": "1", "t": "7"}
    finally:
        await client.aclose()


async def test_an_unreachable_redis_leaves_the_limits_working_per_process(
    make: MakeLimiter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="routerx.limits")
    limiter = make(minute_clock(), url="redis://127.0.0.1:1/0")
    assert limiter.status == "ok"  # until a round says otherwise
    tenant = Limits(rpm=3)
    assert allowed(limiter, 2, tenant) == [True, True]
    for _ in range(3):
        assert await limiter.sync_once() is False
    assert limiter.status == "unreachable"
    assert allowed(limiter, 2, tenant) == [True, False]
    assert outage_warnings(caplog) == 1


async def test_a_silent_redis_is_cut_off_by_the_timeout(make: MakeLimiter) -> None:
    async def swallow(reader: asyncio.StreamReader, _: asyncio.StreamWriter) -> None:
        await reader.read(-1)

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        limiter = make(minute_clock(), url=f"redis://127.0.0.1:{port}/0")
        ask(limiter, Limits(rpm=3))
        started = time.monotonic()
        assert await limiter.sync_once() is False
        assert time.monotonic() - started < 1.0
        assert limiter.status == "unreachable"
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await server.wait_closed()


async def test_both_processes_keep_deciding_through_a_redis_restart(
    make: MakeLimiter, private_redis: PrivateRedis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="routerx.limits")
    clock = minute_clock()
    one, two = make(clock, url=private_redis.url), make(clock, url=private_redis.url)
    tenant = Limits(rpm=20)
    assert allowed(one, 5, tenant) == [True] * 5
    assert allowed(two, 5, tenant, key_id=OTHER_KEY) == [True] * 5
    await sync(one, two)  # the first saw 5, the second all 10

    await private_redis.kill()
    for limiter in (one, two):
        ask(limiter, tenant, key_id=12)
        assert await limiter.sync_once() is False
        assert limiter.status == "unreachable"
    # Each goes on alone from what it knew, up to the limit per process.
    assert allowed(one, 15, tenant) == [True] * 14 + [False]
    assert allowed(two, 10, tenant, key_id=OTHER_KEY) == [True] * 9 + [False]
    assert outage_warnings(caplog) == 2  # one per process

    await private_redis.start()  # empty: no counts, no script loaded
    await sync(one, two)
    assert (one.status, two.status) == ("ok", "ok")
    # The counts made during the outage were pushed; the ones before it died with Redis.
    newcomer = make(clock, url=private_redis.url)
    ask(newcomer, tenant, key_id=13)
    await sync(newcomer)
    assert allowed(newcomer, 1, tenant, key_id=13) == [False]
    recovered = [r for r in caplog.records if "reachable again" in r.getMessage()]
    assert len(recovered) == 2


async def test_sharing_resumes_after_an_outage(
    make: MakeLimiter, private_redis: PrivateRedis
) -> None:
    clock = minute_clock()
    one, two = make(clock, url=private_redis.url), make(clock, url=private_redis.url)
    tenant = Limits(rpm=10)
    ask(two, tenant, key_id=OTHER_KEY)
    await private_redis.kill()
    assert allowed(one, 5, tenant) == [True] * 5
    assert await one.sync_once() is False
    await private_redis.start()
    await sync(one, two)
    assert allowed(two, 5, tenant, key_id=OTHER_KEY) == [True] * 4 + [False]


async def test_the_background_task_shares_counts(redis_url: str, prefix: str) -> None:
    one = build_limiter(redis_url, key_prefix=prefix, sync_interval_s=0.05)
    two = build_limiter(redis_url, key_prefix=prefix, sync_interval_s=0.05)
    tenant = Limits(rpm=50)
    await one.start()
    await two.start()
    try:
        assert ask(two, tenant, key_id=OTHER_KEY).allowed
        assert allowed(one, 49, tenant) == [True] * 49
        # Each allowed probe uses one of `two`'s own requests: with syncing off it would be allowed
        # 49 more times, so fewer than 10 allowed probes proves the counts came from `one`.
        own_requests = 1
        deadline = time.monotonic() + 5.0
        while ask(two, tenant, key_id=OTHER_KEY).allowed:
            own_requests += 1
            assert own_requests < 10, "the other process never saw the counts"
            assert time.monotonic() < deadline, "the other process never saw the counts"
            await asyncio.sleep(0.2)
    finally:
        await one.stop()
        await two.stop()


async def test_stop_pushes_the_last_counts(make: MakeLimiter, redis_url: str, prefix: str) -> None:
    clock = SystemClock()
    leaving = build_limiter(redis_url, key_prefix=prefix, clock=clock, sync_interval_s=60.0)
    staying = make(clock)
    tenant = Limits(rpm=10)
    ask(staying, tenant, key_id=OTHER_KEY)
    await leaving.start()
    assert allowed(leaving, 9, tenant) == [True] * 9
    await leaving.stop()
    await sync(staying)
    assert not ask(staying, tenant, key_id=OTHER_KEY).allowed
