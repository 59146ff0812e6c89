"""Rate limits through the real gateway: 429 in OpenAI's shape with Retry-After, x-ratelimit-*
headers on every answer, per tenant and per key, shared by two processes through Redis."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from routerx.auth.api_keys import digest_key, display_prefix, generate_key
from routerx.storage.config_version import bump_config_version
from routerx.storage.models import ApiKey, Tenant
from tests.conftest import create_pg_database, drop_pg_database
from tests.support.database import connected, prepare
from tests.support.processes import ServerProcess, base_env, start_server
from tests.support.redis_server import private_redis

BODY = {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "hi"}]}


async def tenant_with_key(database_url: str, name: str, **limits: Any) -> str:
    key = generate_key()
    async with connected(database_url):
        tenant_limits = {k: v for k, v in limits.items() if k.startswith("tenant_")}
        key_limits = {k: v for k, v in limits.items() if k.startswith("key_")}
        tenant = await Tenant.create(
            name=name,
            allowed_models=[],
            **{k.removeprefix("tenant_"): v for k, v in tenant_limits.items()},
        )
        await ApiKey.create(
            tenant=tenant,
            prefix=display_prefix(key),
            digest=digest_key(key),
            **{k.removeprefix("key_"): v for k, v in key_limits.items()},
        )
        await bump_config_version()
    return key


async def call(
    url: str, key: str, body: dict[str, Any] | None = None
) -> tuple[int, dict[str, str], Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            url + "/v1/chat/completions",
            json=body or BODY,
            headers={"Authorization": f"Bearer {key}"},
        ) as response,
    ):
        return (
            response.status,
            {k.lower(): v for k, v in response.headers.items()},
            await response.json(),
        )


async def wait_until_served(url: str, key: str) -> tuple[int, dict[str, str], Any]:
    """The new key reaches the gateway with the next snapshot (within ~0.2 s here)."""
    started = time.monotonic()
    while True:
        answer = await call(url, key)
        if answer[0] != 401:
            return answer
        assert time.monotonic() - started < 3, "key never reached the gateway"
        await asyncio.sleep(0.05)


async def test_tenant_rpm_then_429_with_retry_after(tmp_path: Any) -> None:
    database_url = f"sqlite://{tmp_path / 'rx.sqlite3'}"
    await prepare(database_url)
    gateway = await start_server("gateway", base_env(database_url))
    try:
        key = await tenant_with_key(database_url, "small", tenant_rpm_limit=3)
        statuses, headers = [], []
        first = await wait_until_served(gateway.url, key)
        statuses.append(first[0])
        headers.append(first[1])
        for _ in range(3):
            status, hdrs, body = await call(gateway.url, key)
            statuses.append(status)
            headers.append(hdrs)
        assert statuses == [200, 200, 200, 429]
        assert [h["x-ratelimit-remaining-requests"] for h in headers[:3]] == ["2", "1", "0"]
        assert all(h["x-ratelimit-limit-requests"] == "3" for h in headers)
        assert "x-ratelimit-limit-tokens" not in headers[0], "no token limit: no token headers"
        assert int(headers[3]["retry-after"]) >= 1
        assert body["error"]["type"] == "rate_limit_error"
        assert body["error"]["code"] == "rate_limit_exceeded"
        assert "tenant" in body["error"]["message"]

        # Another tenant is not affected; the demo key has no limits and no headers.
        status, hdrs, _ = await call(gateway.url, "demo_key_fake_123456")
        assert status == 200 and "x-ratelimit-limit-requests" not in hdrs
    finally:
        gateway.stop()


async def test_key_tpm_limit_settles_with_real_usage(tmp_path: Any) -> None:
    database_url = f"sqlite://{tmp_path / 'rx.sqlite3'}"
    await prepare(database_url)
    gateway = await start_server("gateway", base_env(database_url))
    try:
        key = await tenant_with_key(database_url, "tokens", key_tpm_limit=60)
        status, headers, body = await wait_until_served(gateway.url, key)
        assert status == 200
        used = body["usage"]["total_tokens"]
        assert int(headers["x-ratelimit-limit-tokens"]) == 60
        status, headers, _ = await call(gateway.url, key)
        assert status == 200
        assert int(headers["x-ratelimit-remaining-tokens"]) <= 60 - used
        refused = None
        for _ in range(5):
            status, headers, body = await call(gateway.url, key)
            if status == 429:
                refused = body
                break
        assert refused is not None and "key" in refused["error"]["message"]
        assert "tokens" in refused["error"]["message"]
        too_big = {**BODY, "max_tokens": 1000}
        status, _, body = await call(gateway.url, key, too_big)
        assert status == 429 and "alone exceeds" in body["error"]["message"]
    finally:
        gateway.stop()


async def test_limits_are_shared_by_two_processes_and_survive_redis_loss() -> None:
    database_url = await create_pg_database()
    gateways: list[ServerProcess] = []
    try:
        await prepare(database_url)
        key = await tenant_with_key(database_url, "shared", tenant_rpm_limit=10)
        async with private_redis() as redis:
            env = base_env(database_url, REDIS_URL=redis.url, GATEWAY_WORKERS="1")
            gateways = [await start_server("gateway", env) for _ in range(2)]
            one, two = gateways
            assert (await wait_until_served(two.url, key))[0] == 200
            for _ in range(8):
                assert (await call(two.url, key))[0] == 200

            # One has served none of them, yet refuses once its sync (every 0.1 s) brought in
            # two's nine: on its own it would allow ten.
            allowed = 0
            started = time.monotonic()
            while (await call(one.url, key))[0] == 200:
                allowed += 1
                assert time.monotonic() - started < 3, "limits never shared"
                await asyncio.sleep(0.1)
            assert allowed <= 3
            await redis.kill()
            other = await tenant_with_key(database_url, "after-redis", tenant_rpm_limit=1000)
            for gateway in gateways:
                assert (await wait_until_served(gateway.url, other))[0] == 200
    finally:
        for gateway in gateways:
            gateway.stop()
        await drop_pg_database(database_url)
