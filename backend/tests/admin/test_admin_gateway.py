"""Breakers and the rule tester come from the gateway: a fake of its internal endpoints, a
gateway that is down, and the real gateway process, which also shows that a change made
through the admin API reaches it within two seconds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx2
import pytest
from tortoise.backends.base.executor import EXECUTOR_CACHE

from tests.admin.admin_harness import INTERNAL_TOKEN, JWT_SECRET, Admin, pg_admin, running_admin
from tests.conftest import create_pg_database, drop_pg_database
from tests.support.database import prepare
from tests.support.processes import ServerProcess, base_env, start_server

API = "/api/v1"


async def test_breakers_merge_configured_providers_with_the_gateways_state(admin: Admin) -> None:
    async with admin.as_admin() as client:
        await client.post(f"{API}/providers", json={"name": "steady", "type": "mock"})
        await client.post(f"{API}/providers", json={"name": "shaky", "type": "mock"})
        admin.gateway.breakers.update(
            shaky={
                "state": "open",
                "calls": 12,
                "failures": 9,
                "consecutive_failures": 6,
                "open_until": 1_900_000_000.5,
                "reopen_count": 2,
                "targets": {
                    "big-model": {
                        "state": "open",
                        "calls": 10,
                        "failures": 9,
                        "consecutive_failures": 6,
                        "open_until": 1_900_000_000.5,
                        "reopen_count": 2,
                    },
                    "small-model": {"state": "closed", "calls": 2},
                },
            },
            retired={"state": "half_open", "calls": 1},
        )
        report = (await client.get(f"{API}/breakers")).json()
        reset = await client.post(f"{API}/breakers/shaky/reset")
        fresh = await client.post(f"{API}/breakers/steady/reset")
        unknown = await client.post(f"{API}/breakers/nobody/reset")
    by_name = {b["provider"]: b for b in report["breakers"]}
    assert report["gateway_reachable"] is True and report["gateway_error"] is None
    assert by_name["steady"]["state"] == "closed" and by_name["steady"]["configured"] is True
    assert by_name["shaky"] == {
        "provider": "shaky",
        "configured": True,
        "enabled": True,
        "state": "open",
        "calls": 12,
        "failures": 9,
        "consecutive_failures": 6,
        "open_until": 1_900_000_000.5,
        "reopen_count": 2,
        "targets": [
            {
                "model": "big-model",
                "state": "open",
                "calls": 10,
                "failures": 9,
                "consecutive_failures": 6,
                "open_until": 1_900_000_000.5,
                "reopen_count": 2,
            },
            {
                "model": "small-model",
                "state": "closed",
                "calls": 2,
                "failures": 0,
                "consecutive_failures": 0,
                "open_until": None,
                "reopen_count": 0,
            },
        ],
    }
    assert by_name["retired"]["configured"] is False
    assert reset.status_code == 200 and reset.json()["reset"] is True
    assert admin.gateway.resets == ["shaky"]
    assert fresh.json()["reset"] is False  # the gateway had no breaker for it yet
    assert unknown.status_code == 404
    assert admin.gateway.refused == 0  # every call carried the internal token


async def test_the_rule_tester_asks_the_gateway(admin: Admin) -> None:
    async with admin.as_admin() as client:
        tenant = (await client.post(f"{API}/tenants", json={"name": "tester"})).json()
    async with admin.as_viewer() as client:
        answer = await client.post(
            f"{API}/rules/test",
            json={
                "model": "gpt-4o",
                "capability": "vision",
                "tools": True,
                "tenant_id": tenant["id"],
            },
        )
        no_rule = await client.post(f"{API}/rules/test", json={"model": "no-such-model"})
        bad = await client.post(f"{API}/rules/test", json={"model": "m", "capability": "audio"})
        ghost = await client.post(f"{API}/rules/test", json={"model": "m", "tenant_id": 999999})
    assert answer.status_code == 200
    assert answer.json()["rule"]["capability"] == "vision"
    assert answer.json()["targets"][0]["eligible"] is True
    assert admin.gateway.explained[0] == {
        "model": "gpt-4o",
        "capability": "vision",
        "tools": True,
        "json": False,
        "tenant_id": tenant["id"],
    }
    assert no_rule.json()["rule"] is None and no_rule.json()["error"] == "model_not_found"
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "capability"
    assert ghost.status_code == 400 and ghost.json()["error"]["param"] == "tenant_id"


async def test_a_gateway_that_is_down_gives_unknown_state_not_a_500() -> None:
    async with pg_admin(gateway="down") as admin, admin.as_admin() as client:
        await client.post(f"{API}/providers", json={"name": "lonely", "type": "mock"})
        report = await client.get(f"{API}/breakers")
        reset = await client.post(f"{API}/breakers/lonely/reset")
        tested = await client.post(f"{API}/rules/test", json={"model": "m"})
    assert report.status_code == 200
    assert report.json()["gateway_reachable"] is False and report.json()["gateway_error"]
    assert report.json()["breakers"][0]["state"] == "unknown"
    assert reset.status_code == tested.status_code == 503
    assert reset.json()["error"]["code"] == "gateway_unavailable"


@pytest.fixture(scope="module")
async def live() -> AsyncIterator[tuple[Admin, ServerProcess]]:
    """The real gateway process and the admin API on one seeded PostgreSQL database."""
    url = await create_pg_database()
    try:
        EXECUTOR_CACHE.clear()  # see running_admin
        await asyncio.create_task(prepare(url))  # its own task keeps Tortoise's context there
        env = base_env(
            url,
            JWT_SECRET=JWT_SECRET,
            ROUTERX_INTERNAL_TOKEN=INTERNAL_TOKEN,
            CONFIG_POLL_INTERVAL_S="1.0",
        )
        gateway = await start_server("gateway", env)
        try:
            async with running_admin(url, gateway=gateway.url) as admin:
                yield admin, gateway
        finally:
            gateway.stop()
    finally:
        await drop_pg_database(url)


async def test_live_breakers_and_rule_tester(live: tuple[Admin, ServerProcess]) -> None:
    admin, _gateway = live
    async with admin.as_admin() as client:
        report = (await client.get(f"{API}/breakers")).json()
        reset = await client.post(f"{API}/breakers/mock-text/reset")
        explained = await client.post(
            f"{API}/rules/test", json={"model": "gpt-4.1-mini", "capability": "vision"}
        )
        embeddings = await client.post(
            f"{API}/rules/test",
            json={"model": "text-embedding-3-small", "capability": "embeddings"},
        )
    assert report["gateway_reachable"] is True
    states = {b["provider"]: b["state"] for b in report["breakers"]}
    assert states == {
        "mock-text": "closed",
        "mock-text-backup": "closed",
        "mock-vision": "closed",
        "mock-embeddings": "closed",
    }
    assert embeddings.json()["rule"]["name"] == "demo-embeddings"
    assert [t["provider"] for t in embeddings.json()["targets"]] == ["mock-embeddings"]
    assert reset.status_code == 200
    assert explained.status_code == 200, explained.text
    assert explained.json()["rule"]["name"] == "demo-vision"
    assert [t["provider"] for t in explained.json()["targets"]] == ["mock-vision"]


async def poll_status(
    client: httpx2.AsyncClient, url: str, key: str, wanted: int, deadline_s: float
) -> float:
    """Seconds until the gateway answers `wanted` for a chat request with `key`."""
    started = time.monotonic()
    body = {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "hi"}]}
    while True:
        response = await client.post(
            url + "/v1/chat/completions", json=body, headers={"authorization": f"Bearer {key}"}
        )
        elapsed = time.monotonic() - started
        if response.status_code == wanted:
            return elapsed
        assert elapsed < deadline_s, f"still {response.status_code} after {elapsed:.2f}s"
        await asyncio.sleep(0.05)


async def test_a_change_reaches_the_running_gateway_within_two_seconds(
    live: tuple[Admin, ServerProcess],
) -> None:
    admin, gateway = live
    async with admin.as_admin() as client, httpx2.AsyncClient(timeout=10) as outside:
        tenant = (await client.post(f"{API}/tenants", json={"name": "live"})).json()
        made = (await client.post(f"{API}/tenants/{tenant['id']}/keys", json={})).json()
        key, key_id = made["key"], made["api_key"]["id"]
        assert await poll_status(outside, gateway.url, key, 200, 2.0) < 2.0
        await client.post(f"{API}/tenants/{tenant['id']}/keys/{key_id}/revoke")
        assert await poll_status(outside, gateway.url, key, 401, 2.0) < 2.0
