"""Sign-in throttling: each attempt is reserved before its password is hashed; counted per
(username, address) and per address; a username attacked from many addresses is slowed down,
never locked for whoever signs in from an address without failures."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx2
import pytest
import redis.asyncio as aioredis

from routerx.admin.throttle import (
    ADDRESS_MAX_FAILURES,
    PAIR_MAX_FAILURES,
    USERNAME_FREE_FAILURES,
    USERNAME_MAX_DELAY_S,
    WINDOW_S,
    LoginThrottle,
    MemoryThrottle,
    RedisThrottle,
    Reservation,
    attempt_keys,
    username_delay,
)
from tests.admin.admin_harness import Admin, pg_admin
from tests.support.redis_server import own_key_prefix

LOGIN = "/api/v1/auth/login"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def client_from(admin: Admin, source_ip: str, **headers: str) -> httpx2.AsyncClient:
    """A client whose connections come from another loopback address, i.e. another IP."""
    transport = httpx2.AsyncHTTPTransport(local_address=source_ip)
    return httpx2.AsyncClient(
        base_url=admin.base_url, transport=transport, timeout=30, headers=headers
    )


ACCOUNT_PASSWORD = "throttle-tests-password"


@pytest.fixture
async def account(admin: Admin) -> str:
    """A user of this test's own, so that no other test's failures count against it."""
    username = f"user-{uuid.uuid4().hex[:12]}"
    async with admin.as_admin() as client:
        created = await client.post(
            "/api/v1/users", json={"username": username, "password": ACCOUNT_PASSWORD}
        )
    assert created.status_code in (200, 201), created.text
    return username


async def attempt(client: httpx2.AsyncClient, username: str, password: str) -> httpx2.Response:
    return await client.post(LOGIN, json={"username": username, "password": password})


async def fail(client: httpx2.AsyncClient, username: str, times: int) -> None:
    for _ in range(times):
        response = await attempt(client, username, "wrong-password")
        assert response.status_code == 401, response.text


async def test_parallel_wrong_passwords_are_counted_before_any_is_checked(
    admin: Admin, account: str
) -> None:
    async with client_from(admin, "127.0.0.2") as attacker:
        answers = await asyncio.gather(
            *(attempt(attacker, account, f"guess-{index}") for index in range(40))
        )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses.count(401) == PAIR_MAX_FAILURES
    assert statuses.count(429) == 40 - PAIR_MAX_FAILURES
    refused = next(answer for answer in answers if answer.status_code == 429)
    assert refused.json()["error"]["type"] == "rate_limit_error"
    assert 0 < int(refused.headers["retry-after"]) <= WINDOW_S


async def test_failing_a_username_elsewhere_does_not_lock_its_owner_out(
    admin: Admin, account: str
) -> None:
    async with client_from(admin, "127.0.0.3") as attacker:
        await fail(attacker, account, PAIR_MAX_FAILURES)
        assert (await attempt(attacker, account, ACCOUNT_PASSWORD)).status_code == 429
    async with client_from(admin, "127.0.0.4") as owner:
        assert (await attempt(owner, account, ACCOUNT_PASSWORD)).status_code == 200


async def test_a_username_attacked_from_many_addresses_is_slowed_not_locked(
    admin: Admin, account: str
) -> None:
    repeaters = [f"127.0.1.{index}" for index in range(1, 6)]
    for address in repeaters:  # 2 each: under the pair limit, 10 failures for the username
        async with client_from(admin, address) as attacker:
            await fail(attacker, account, 2)
    # An address with no failures yet is never slowed down: each gets its attempt.
    for index in range(6, 11):
        async with client_from(admin, f"127.0.1.{index}") as attacker:
            await fail(attacker, account, 1)
    async with client_from(admin, repeaters[0]) as attacker:
        slowed = await attempt(attacker, account, "another-guess")
    assert slowed.status_code == 429
    assert username_delay(15) == USERNAME_MAX_DELAY_S
    assert USERNAME_MAX_DELAY_S - 30 < int(slowed.headers["retry-after"]) <= USERNAME_MAX_DELAY_S
    async with client_from(admin, "127.0.1.99") as owner:
        assert (await attempt(owner, account, ACCOUNT_PASSWORD)).status_code == 200


async def test_one_address_guessing_across_usernames_is_stopped(admin: Admin, account: str) -> None:
    async with client_from(admin, "127.0.0.5") as attacker:
        for index in range(ADDRESS_MAX_FAILURES):
            await fail(attacker, f"guess-{index}", 1)
        assert (await attempt(attacker, account, ACCOUNT_PASSWORD)).status_code == 429
    async with client_from(admin, "127.0.0.6") as elsewhere:
        assert (await attempt(elsewhere, account, ACCOUNT_PASSWORD)).status_code == 200


async def test_failures_then_success_do_not_block(admin: Admin, account: str) -> None:
    async with client_from(admin, "127.0.0.7") as client:
        await fail(client, account, PAIR_MAX_FAILURES - 1)
        assert (await attempt(client, account, ACCOUNT_PASSWORD)).status_code == 200
        await fail(client, account, PAIR_MAX_FAILURES - 1)  # the success forgave the pair
        assert (await attempt(client, account, ACCOUNT_PASSWORD)).status_code == 200


async def test_the_console_passes_its_clients_address_and_nobody_else_can(
    admin: Admin, account: str
) -> None:
    # 127.0.0.1 is a trusted proxy (the console): its x-routerx-client-address is believed.
    async with client_from(admin, "127.0.0.1", **{"x-routerx-client-address": "198.51.100.7"}) as a:
        await fail(a, account, PAIR_MAX_FAILURES)
        assert (await attempt(a, account, ACCOUNT_PASSWORD)).status_code == 429
    async with client_from(admin, "127.0.0.1", **{"x-routerx-client-address": "198.51.100.8"}) as b:
        assert (await attempt(b, account, ACCOUNT_PASSWORD)).status_code == 200
    # From any other peer the header, like X-Forwarded-For, is ignored: counted on the socket.
    spoofed = {"x-routerx-client-address": "198.51.100.9", "x-forwarded-for": "198.51.100.9"}
    async with client_from(admin, "127.0.0.8", **spoofed) as direct:
        await fail(direct, account, PAIR_MAX_FAILURES)
    async with client_from(admin, "127.0.0.1", **{"x-routerx-client-address": "198.51.100.9"}) as c:
        assert (await attempt(c, account, ACCOUNT_PASSWORD)).status_code == 200


async def test_sign_ins_and_failures_land_in_the_audit_log(admin: Admin, account: str) -> None:
    async with client_from(admin, "127.0.0.9") as client:
        await fail(client, account, 1)
        await fail(client, "nobody-here", 1)
        assert (await attempt(client, account, ACCOUNT_PASSWORD)).status_code == 200
    async with admin.as_admin() as client:
        entries = (await client.get("/api/v1/audit", params={"limit": 20})).json()["data"]
    sign_ins = [
        (entry["actor"], entry["action"], entry["after"])
        for entry in entries
        if entry["action"] in {"login", "login_failed"}
        and entry["after"] == {"address": "127.0.0.9"}
    ]
    assert (account, "login", {"address": "127.0.0.9"}) in sign_ins
    assert (account, "login_failed", {"address": "127.0.0.9"}) in sign_ins
    # A name matching no user is not recorded: it may be a password typed in the wrong box.
    assert ("(unknown user)", "login_failed", {"address": "127.0.0.9"}) in sign_ins
    assert "nobody-here" not in str(entries)
    assert ACCOUNT_PASSWORD not in str(entries) and "wrong-password" not in str(entries)


async def exercise(throttle: LoginThrottle, clock: Clock) -> None:
    owner = attempt_keys("alice", "10.0.0.1")
    attacker = attempt_keys("alice", "10.0.0.2")
    for _ in range(PAIR_MAX_FAILURES):
        assert isinstance(await throttle.reserve(attacker), Reservation)
    wait = await throttle.reserve(attacker)
    assert isinstance(wait, float) and WINDOW_S - 1 < wait <= WINDOW_S
    reservation = await throttle.reserve(owner)  # the owner's address has no failures
    assert isinstance(reservation, Reservation)
    await throttle.succeeded(reservation)
    clock.now += WINDOW_S + 1  # the window slides past every failure
    assert isinstance(await throttle.reserve(attacker), Reservation)
    # Past the free failures, from several addresses: spaced, exponentially, never locked.
    for index in range(USERNAME_FREE_FAILURES):
        assert isinstance(
            await throttle.reserve(attempt_keys("alice", f"10.1.0.{index}")), Reservation
        )
    spaced = await throttle.reserve(attacker)
    assert isinstance(spaced, float) and 0 < spaced <= username_delay(USERNAME_FREE_FAILURES + 1)
    clock.now += spaced + 0.01
    assert isinstance(await throttle.reserve(attacker), Reservation)
    fresh = await throttle.reserve(attempt_keys("alice", "10.2.0.1"))
    assert isinstance(fresh, Reservation)


async def test_memory_throttle() -> None:
    clock = Clock()
    await exercise(MemoryThrottle(clock), clock)


@pytest.fixture
async def key_prefix(redis_url: str) -> AsyncIterator[str]:
    async with own_key_prefix(redis_url, "login") as prefix:
        yield prefix


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def own_keys(client: aioredis.Redis, prefix: str) -> list[bytes]:
    return sorted([key async for key in client.scan_iter(match=f"{prefix}:*")])


async def test_redis_throttle(redis_client: aioredis.Redis, key_prefix: str) -> None:
    clock = Clock()
    await exercise(RedisThrottle(redis_client, clock, key_prefix=key_prefix), clock)
    # Every count it kept is under the test's own prefix.
    kept = await own_keys(redis_client, key_prefix)
    assert kept and all(key.startswith(f"{key_prefix}:".encode()) for key in kept)


async def test_redis_reservations_are_atomic_across_connections(
    redis_url: str, key_prefix: str
) -> None:
    throttles = [
        RedisThrottle(aioredis.Redis.from_url(redis_url), key_prefix=key_prefix) for _ in range(4)
    ]
    keys = attempt_keys("bob", "10.3.0.1")
    try:
        answers = await asyncio.gather(*(throttles[i % 4].reserve(keys) for i in range(40)))
    finally:
        for throttle in throttles:
            await throttle.close()
    assert sum(isinstance(answer, Reservation) for answer in answers) == PAIR_MAX_FAILURES


async def test_with_redis_the_count_is_shared_between_admin_processes(
    redis_client: aioredis.Redis, redis_url: str, key_prefix: str
) -> None:
    async with pg_admin(redis_url=redis_url, login_throttle_key_prefix=key_prefix) as admin:
        async with client_from(admin, "127.0.0.7") as attacker:
            await fail(attacker, "admin", PAIR_MAX_FAILURES)
        keys = attempt_keys("admin", "127.0.0.7")
        # LOGIN_THROTTLE_KEY_PREFIX reached the admin service: its counts are under it.
        assert await own_keys(redis_client, key_prefix) == sorted(
            f"{key_prefix}:{key}".encode() for key in keys.all()
        )
        # Another admin process would read the same Redis: here, a fresh throttle on it.
        shared = RedisThrottle(aioredis.Redis.from_url(redis_url), key_prefix=key_prefix)
        try:
            assert isinstance(await shared.reserve(keys), float)
        finally:
            await shared.close()
