"""Failed sign-ins are throttled per username and per client IP: 5 per 5 minutes, then 429."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2
import pytest
import redis.asyncio as aioredis

from routerx.admin.throttle import (
    MAX_FAILURES,
    WINDOW_S,
    LoginThrottle,
    MemoryThrottle,
    RedisThrottle,
    throttle_keys,
)
from tests.admin.admin_harness import Admin, pg_admin

LOGIN = "/api/v1/auth/login"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def client_from(admin: Admin, source_ip: str) -> httpx2.AsyncClient:
    """A client whose connections come from another loopback address, i.e. another IP."""
    transport = httpx2.AsyncHTTPTransport(local_address=source_ip)
    return httpx2.AsyncClient(base_url=admin.base_url, transport=transport, timeout=10)


async def fail(client: httpx2.AsyncClient, username: str, times: int) -> None:
    for _ in range(times):
        response = await client.post(LOGIN, json={"username": username, "password": "wrong-pw"})
        assert response.status_code == 401


async def sign_in(client: httpx2.AsyncClient, username: str, password: str) -> httpx2.Response:
    return await client.post(LOGIN, json={"username": username, "password": password})


async def test_five_failures_block_the_username_from_every_ip(admin: Admin) -> None:
    async with client_from(admin, "127.0.0.2") as attacker:
        await fail(attacker, "viewer", MAX_FAILURES)
    async with client_from(admin, "127.0.0.3") as elsewhere:
        blocked = await sign_in(elsewhere, "viewer", "viewer-pass-1")
        other_user = await sign_in(elsewhere, "admin", "admin123")
    assert blocked.status_code == 429
    assert blocked.json()["error"]["type"] == "rate_limit_error"
    assert 0 < int(blocked.headers["retry-after"]) <= WINDOW_S
    assert other_user.status_code == 200  # the IP itself is not blocked


async def test_five_failures_from_one_ip_block_that_ip_for_every_username(admin: Admin) -> None:
    async with client_from(admin, "127.0.0.4") as attacker:
        for index in range(MAX_FAILURES):
            await fail(attacker, f"guess-{index}", 1)
        blocked = await sign_in(attacker, "admin", "admin123")
    assert blocked.status_code == 429 and "retry-after" in blocked.headers
    async with client_from(admin, "127.0.0.5") as elsewhere:
        assert (await sign_in(elsewhere, "admin", "admin123")).status_code == 200


async def test_four_failures_then_success_do_not_block(admin: Admin) -> None:
    async with client_from(admin, "127.0.0.6") as client:
        await fail(client, "admin", MAX_FAILURES - 1)
        assert (await sign_in(client, "admin", "admin123")).status_code == 200


async def exercise(throttle: LoginThrottle, clock: Clock, keys: list[str]) -> None:
    assert await throttle.retry_after(keys) is None
    for _ in range(MAX_FAILURES - 1):
        await throttle.record_failure(keys)
    assert await throttle.retry_after(keys) is None
    clock.now += 10
    await throttle.record_failure(keys)
    wait = await throttle.retry_after(keys)
    assert wait is not None and WINDOW_S - 11 < wait <= WINDOW_S - 10
    clock.now += wait + 0.01  # the four oldest failures leave the window, one stays
    assert await throttle.retry_after(keys) is None
    for _ in range(MAX_FAILURES - 2):
        await throttle.record_failure(keys)
    assert await throttle.retry_after(keys) is None
    await throttle.record_failure(keys)
    assert await throttle.retry_after(keys) is not None
    await throttle.clear(keys[0])
    assert await throttle.retry_after(keys[:1]) is None


async def test_memory_throttle_window() -> None:
    clock = Clock()
    await exercise(MemoryThrottle(clock), clock, ["user:a", "ip:1"])


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    async for key in client.scan_iter(RedisThrottle.PREFIX + "*"):
        await client.delete(key)
    yield client
    async for key in client.scan_iter(RedisThrottle.PREFIX + "*"):
        await client.delete(key)
    await client.aclose()


async def test_redis_throttle_window(redis_client: aioredis.Redis) -> None:
    clock = Clock()
    await exercise(RedisThrottle(redis_client, clock), clock, ["user:redis-unit", "ip:10.9.9.9"])


async def test_with_redis_the_count_is_shared_between_admin_processes(
    redis_client: aioredis.Redis, redis_url: str
) -> None:
    async with pg_admin(redis_url=redis_url) as admin:
        async with client_from(admin, "127.0.0.7") as attacker:
            await fail(attacker, "admin", MAX_FAILURES)
        # Another admin process would read the same Redis: here, a fresh throttle on it.
        shared = RedisThrottle(aioredis.Redis.from_url(redis_url))
        try:
            assert await shared.retry_after(throttle_keys("admin", "127.0.0.7")) is not None
        finally:
            await shared.close()
        async with client_from(admin, "127.0.0.8") as elsewhere:
            assert (await sign_in(elsewhere, "admin", "admin123")).status_code == 429
