"""Two gateway processes on one Redis keep a budget within the documented overshoot under
concurrent load; a local receiver gets each threshold's webhook exactly once; Redis down
never causes a refusal."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web

from routerx.spend.money import picodollars
from routerx.storage.models import AuditEntry, BudgetAlert
from tests.conftest import create_pg_database, drop_pg_database
from tests.spend.support import call, logged_spend, tenant_with_budget, wait_until_served
from tests.support.database import connected, prepare
from tests.support.processes import ServerProcess, base_env, free_port, start_server
from tests.support.redis_server import private_redis

AMOUNT = "0.02"  # about 650 demo answers
CLIENTS_PER_GATEWAY = 8
SYNC_INTERVAL_S = 0.1  # SPEND_SYNC_INTERVAL_S's default
# The documented bound: what the other process settles before this one sees it (within two sync
# rounds plus a round trip; a third round allowed for a late tick) plus its answers in flight.
# It grows with the gateways' speed, so it is computed from the run's own spend rate.
LAG_ROUNDS = 3


async def receiver() -> tuple[web.AppRunner, list[dict[str, Any]], str]:
    received: list[dict[str, Any]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, received, f"http://127.0.0.1:{port}/hook"


async def client(url: str, key: str, refused: list[int]) -> int:
    served = 0
    while True:
        status, _, body = await call(url, key)
        if status == 429:
            assert body["error"]["code"] == "insufficient_quota"
            refused.append(1)
            return served
        assert status == 200, body
        served += 1


async def test_two_processes_stay_within_the_overshoot_and_alert_once() -> None:
    database_url = await create_pg_database()
    gateways: list[ServerProcess] = []
    runner, received, hook_url = await receiver()
    try:
        await prepare(database_url)
        key, tenant_id = await tenant_with_budget(database_url, "fleet", AMOUNT)
        async with private_redis() as redis:
            env = base_env(
                database_url,
                REDIS_URL=redis.url,
                GATEWAY_WORKERS="1",
                SPEND_WEBHOOK_URL=hook_url,
                SPEND_WEBHOOK_ALLOW_NETWORKS="127.0.0.0/8",
                SPEND_PERSIST_INTERVAL_S="0.2",
            )
            gateways = [await start_server("gateway", env) for _ in range(2)]
            for gateway in gateways:
                assert (await wait_until_served(gateway.url, key))[0] == 200
            refused: list[int] = []
            started = time.monotonic()
            served = await asyncio.gather(
                *(
                    client(gateway.url, key, refused)
                    for gateway in gateways
                    for _ in range(CLIENTS_PER_GATEWAY)
                )
            )
            elapsed_s = time.monotonic() - started
            rows = await logged_spend(database_url, tenant_id, sum(served) + 2 + len(refused))
            spent = sum(r.cost_picousd or 0 for r in rows if r.status == 200)
            amount = picodollars(AMOUNT)
            assert spent > amount * 0.9, "the budget was used, not refused early"
            per_gateway = [sum(served[i::2]) for i in range(2)]
            assert min(per_gateway) > 0
            answer_cost = spent / sum(served)
            other_rate = max(per_gateway) * answer_cost / elapsed_s  # USD-pico per second
            bound = CLIENTS_PER_GATEWAY * answer_cost + LAG_ROUNDS * SYNC_INTERVAL_S * other_rate
            assert spent - amount <= bound, (
                f"overshoot {spent / amount - 1:.1%} over the bound {bound / amount:.1%} "
                f"({sum(served)} answers in {elapsed_s:.2f} s)"
            )

            # Redis gone: each process counts alone, and nothing is refused because of it.
            await redis.kill()
            other, _ = await tenant_with_budget(database_url, "after-redis", "5")
            for gateway in gateways:
                assert (await wait_until_served(gateway.url, other))[0] == 200
        for gateway in gateways:
            gateway.stop()  # delivers what is still queued
        started = time.monotonic()
        while len(received) < 3:
            assert time.monotonic() - started < 10, received
            await asyncio.sleep(0.05)
        assert sorted(p["threshold_percent"] for p in received) == [50, 80, 100]
        assert {p["tenant_id"] for p in received} == {tenant_id}
        assert {p["amount_usd"] for p in received} == {"0.02"}
        async with connected(database_url):
            alerts = await BudgetAlert.filter(scope="tenant", subject_id=tenant_id)
            audit = await AuditEntry.filter(action="budget.threshold", resource_id=str(tenant_id))
        assert sorted(a.threshold for a in alerts) == [50, 80, 100]
        assert all(a.delivered for a in alerts)
        assert len(audit) == 3
        assert len(received) == 3, "each threshold fires once per period across processes"
    finally:
        for gateway in gateways:
            gateway.stop()
        await runner.cleanup()
        await drop_pg_database(database_url)
