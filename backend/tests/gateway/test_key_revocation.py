"""A revoked key, or a disabled tenant, is refused within 2 seconds, without a restart."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import aiohttp

from routerx.auth.api_keys import digest_key, display_prefix, generate_key
from routerx.storage.config_version import bump_config_version
from routerx.storage.models import ApiKey, Tenant
from tests.gateway.conftest import RunningGateway
from tests.support.database import connected

BODY = {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "hi"}]}


async def status_with(gateway: RunningGateway, key: str) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            gateway.url + "/v1/chat/completions",
            json=BODY,
            headers={"Authorization": f"Bearer {key}"},
        ) as response,
    ):
        return response.status


async def wait_for_status(
    gateway: RunningGateway, key: str, expected: int, deadline_s: float
) -> float:
    started = time.monotonic()
    while time.monotonic() - started < deadline_s:
        if await status_with(gateway, key) == expected:
            return time.monotonic() - started
        await asyncio.sleep(0.05)
    raise AssertionError(f"status {expected} not seen within {deadline_s}s")


async def test_new_key_works_and_revoked_key_is_refused(pg_gateway: RunningGateway) -> None:
    key = generate_key()
    async with connected(pg_gateway.database_url):
        tenant = await Tenant.get(name="demo")
        record = await ApiKey.create(
            tenant=tenant, name="t", prefix=display_prefix(key), digest=digest_key(key)
        )
        await bump_config_version()
    await wait_for_status(pg_gateway, key, 200, deadline_s=2.0)

    async with connected(pg_gateway.database_url):
        record.status = "revoked"
        await record.save()
        await bump_config_version()
    await wait_for_status(pg_gateway, key, 401, deadline_s=2.0)


async def test_disabled_tenant_is_refused(pg_gateway: RunningGateway) -> None:
    key = generate_key()
    async with connected(pg_gateway.database_url):
        tenant = await Tenant.create(name="short-lived", allowed_models=[])
        await ApiKey.create(tenant=tenant, prefix=display_prefix(key), digest=digest_key(key))
        await bump_config_version()
    await wait_for_status(pg_gateway, key, 200, deadline_s=2.0)
    async with connected(pg_gateway.database_url):
        tenant.status = "disabled"
        await tenant.save()
        await bump_config_version()
    await wait_for_status(pg_gateway, key, 401, deadline_s=2.0)


async def test_key_is_refused_once_its_expiry_passes(pg_gateway: RunningGateway) -> None:
    """The expiry is checked per request: no configuration change announces it."""
    key = generate_key()
    async with connected(pg_gateway.database_url):
        tenant = await Tenant.get(name="demo")
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=3)
        await ApiKey.create(
            tenant=tenant,
            name="soon",
            prefix=display_prefix(key),
            digest=digest_key(key),
            expires_at=expires,
        )
        await bump_config_version()
    await wait_for_status(pg_gateway, key, 200, deadline_s=2.0)
    await wait_for_status(pg_gateway, key, 401, deadline_s=8.0)
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            pg_gateway.url + "/v1/chat/completions",
            json=BODY,
            headers={"Authorization": f"Bearer {key}"},
        ) as response,
    ):
        body = await response.json()
    assert response.status == 401 and dt.datetime.now(dt.UTC) >= expires
    assert body["error"]["code"] == "invalid_api_key"
    assert body["error"]["message"] == "This API key has expired."
