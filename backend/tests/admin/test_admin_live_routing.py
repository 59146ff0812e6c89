"""A rule changed through the admin API steers the running gateway within 2 seconds."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from tests.conftest import create_pg_database, drop_pg_database
from tests.gateway.conftest import AUTH
from tests.support.database import prepare
from tests.support.processes import base_env, start_server

BODY = {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "hi"}]}


async def test_rule_change_through_the_api_reaches_the_gateway() -> None:
    database_url = await create_pg_database()
    await prepare(database_url)
    gateway = await start_server("gateway", base_env(database_url))
    admin = await start_server("admin", base_env(database_url, GATEWAY_INTERNAL_URL=gateway.url))
    try:
        async with aiohttp.ClientSession() as session:
            async with session.post(
                admin.url + "/api/v1/auth/login", json={"username": "admin", "password": "admin123"}
            ) as login:
                assert login.status == 200
                token = (await login.json())["token"]
            bearer = {"Authorization": f"Bearer {token}"}

            async def provider_now() -> str:
                async with session.post(
                    gateway.url + "/v1/chat/completions", json=BODY, headers=AUTH
                ) as answer:
                    assert answer.status == 200
                    return answer.headers["x-routerx-provider"]

            assert await provider_now() == "mock-text"
            async with session.get(admin.url + "/api/v1/rules", headers=bearer) as listing:
                rules = (await listing.json())["data"]
            rule = next(r for r in rules if r["name"] == "demo-text")
            swapped = [
                {"provider": "mock-text-backup", "model": "gpt-4.1-mini", "weight": 1, "tier": 0},
                {"provider": "mock-text", "model": "gpt-4.1-mini", "weight": 1, "tier": 1},
            ]
            async with session.patch(
                admin.url + f"/api/v1/rules/{rule['id']}", json={"targets": swapped}, headers=bearer
            ) as patched:
                assert patched.status == 200, await patched.text()
            changed_at = time.monotonic()
            while await provider_now() != "mock-text-backup":
                assert time.monotonic() - changed_at < 2.0, "not routed by the new rule in 2 s"
                await asyncio.sleep(0.05)
    finally:
        admin.stop()
        gateway.stop()
        await drop_pg_database(database_url)
