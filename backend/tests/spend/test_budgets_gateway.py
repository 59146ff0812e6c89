"""Budgets through real gateways: refuse with OpenAI's insufficient_quota, downgrade to the
model the budget names, spend that survives a restart."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from routerx.spend.periods import period_key
from routerx.storage.config_version import bump_config_version
from routerx.storage.models import RoutingRule, SpendPeriod
from tests.spend.support import BODY, call, logged_spend, tenant_with_budget, wait_until_served
from tests.support.database import connected, prepare
from tests.support.processes import base_env, start_server

AMOUNT = "0.0002"  # about six demo answers of gpt-4.1-mini


async def spend_until_refused(url: str, key: str) -> tuple[int, Any, dict[str, str]]:
    served = 0
    while True:
        status, headers, body = await call(url, key)
        if status != 200:
            return served, body, headers | {"status": str(status)}
        served += 1
        assert served < 100, "the budget never refused"


async def persisted(database_url: str, tenant_id: int, expected: int) -> int:
    """The period's spend in the database, once it reaches `expected`."""
    started = time.monotonic()
    while True:
        async with connected(database_url):
            row = await SpendPeriod.get_or_none(
                scope="tenant", subject_id=tenant_id, period=period_key("day", time.time())
            )
        if row is not None and row.spent_pico >= expected:
            return row.spent_pico
        assert time.monotonic() - started < 10, f"spend not persisted: {row and row.spent_pico}"
        await asyncio.sleep(0.05)


async def test_refuse_then_a_restart_keeps_the_period_spend(tmp_path: Any) -> None:
    database_url = f"sqlite://{tmp_path / 'rx.sqlite3'}"
    await prepare(database_url)
    env = base_env(database_url, SPEND_PERSIST_INTERVAL_S="0.05")
    gateway = await start_server("gateway", env)
    try:
        key, tenant_id = await tenant_with_budget(database_url, "capped", AMOUNT)
        assert (await wait_until_served(gateway.url, key))[0] == 200
        served, body, headers = await spend_until_refused(gateway.url, key)
        assert headers["status"] == "429"
        assert body["error"]["code"] == "insufficient_quota"
        assert body["error"]["type"] == "insufficient_quota"
        assert "$0.0002 per day" in body["error"]["message"]
        assert "resets at" in body["error"]["message"] and "Z." in body["error"]["message"]
        assert int(headers["retry-after"]) >= 1
        rows = await logged_spend(database_url, tenant_id, served + 2)
        costs = [r.cost_picousd for r in rows if r.status == 200]
        assert all(c is not None and c > 0 for c in costs)
        spent = sum(c or 0 for c in costs)
        assert spent <= 200_000_000, "one process never admits past the amount"
        assert rows[-1].status == 429 and rows[-1].error_type == "insufficient_quota"
        assert await persisted(database_url, tenant_id, spent) == spent
    finally:
        gateway.stop()

    again = await start_server("gateway", env)
    try:
        status, _, body = await call(again.url, key)
        assert status == 429, again.output()
        assert body["error"]["code"] == "insufficient_quota"
    finally:
        again.stop()


async def test_downgrade_routes_to_the_model_the_budget_names(tmp_path: Any) -> None:
    database_url = f"sqlite://{tmp_path / 'rx.sqlite3'}"
    await prepare(database_url)
    async with connected(database_url):
        await RoutingRule.create(
            name="brownout",
            model_pattern="brownout-tier",
            capability="text",
            targets=[{"provider": "mock-text", "model": "gpt-4.1-nano", "weight": 1, "tier": 0}],
        )
    gateway = await start_server("gateway", base_env(database_url))
    try:
        key, tenant_id = await tenant_with_budget(
            database_url, "brownout", AMOUNT, action="downgrade", downgrade_model="brownout-tier"
        )
        async with connected(database_url):
            await bump_config_version()
        assert (await wait_until_served(gateway.url, key))[0] == 200
        statuses = [(await call(gateway.url, key))[0] for _ in range(12)]
        assert set(statuses) == {200}, "a downgrade budget never refuses"
        rows = await logged_spend(database_url, tenant_id, 13)
        downgraded = [r for r in rows if r.budget_action == "downgraded"]
        assert downgraded, "the budget ran out and requests were downgraded"
        assert {r.upstream_model for r in downgraded} == {"gpt-4.1-nano"}
        assert {r.rule for r in downgraded} == {"brownout"}
        first = rows.index(downgraded[0])
        assert all(r.budget_action is None for r in rows[:first])
        assert all(r.upstream_model == BODY["model"] for r in rows[:first])
    finally:
        gateway.stop()
