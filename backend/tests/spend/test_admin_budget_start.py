"""A budget set in the middle of a period starts from the spend the request log already has."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest

from routerx.storage.models import RequestLog
from tests.admin.admin_harness import Admin, pg_admin
from tests.spend.test_admin_spend import API, tenant_and_key


@pytest.fixture(scope="module")
async def admin() -> AsyncIterator[Admin]:
    async with pg_admin() as running:
        yield running


async def test_a_budget_set_mid_period_starts_from_the_logged_spend(admin: Admin) -> None:
    tenant_id, _ = await tenant_and_key(admin, "already-spending")
    with admin.database.active():
        for i, cost in enumerate((1_000_000_000_000, 500_000_000_000, None)):
            await RequestLog.create(
                request_id=f"before-{i}",
                created_at=dt.datetime.now(dt.UTC),
                tenant_id=tenant_id,
                status=200,
                cost_picousd=cost,
            )
        await RequestLog.create(  # last month: another period
            request_id="before-old",
            created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=40),
            tenant_id=tenant_id,
            status=200,
            cost_picousd=9_000_000_000_000,
        )
    async with admin.as_admin() as client:
        answer = await client.put(
            f"{API}/tenants/{tenant_id}/budget", json={"amount_usd": "10", "period": "month"}
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["spent_usd"] == "1.50" and answer.json()["percent"] == 15.0


async def test_a_key_budget_alerts_its_tenant_url_unless_it_has_its_own(admin: Admin) -> None:
    from routerx.storage.spend_loader import load_spend_config

    tenant_id, key_id = await tenant_and_key(admin, "alerted")
    async with admin.as_admin() as client:
        for path, url in (
            (f"{API}/tenants/{tenant_id}/budget", "https://hooks.example.com/tenant"),
            (f"{API}/tenants/{tenant_id}/keys/{key_id}/budget", None),
        ):
            answer = await client.put(path, json={"amount_usd": "5", "webhook_url": url})
            assert answer.status_code == 200, answer.text
    with admin.database.active():
        config = await load_spend_config()
    assert config.budgets["key", key_id].webhook_url == "https://hooks.example.com/tenant"
    assert config.budgets["key", key_id].tenant_id == tenant_id
