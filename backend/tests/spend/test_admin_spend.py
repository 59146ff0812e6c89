"""The spend admin API: budgets on tenants and keys, the price table with overrides, and
spend grouped over time; viewers read, admins edit, bad input is a 400 in the API's shape."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest

from routerx.spend.periods import period_key
from routerx.storage.config_version import current_config_version
from routerx.storage.models import ApiKey, AuditEntry, RequestLog, SpendPeriod, Tenant
from tests.admin.admin_harness import Admin, pg_admin

API = "/api/v1"


@pytest.fixture(scope="module")
async def admin() -> AsyncIterator[Admin]:
    async with pg_admin() as running:
        yield running


async def tenant_and_key(admin: Admin, name: str) -> tuple[int, int]:
    with admin.database.active():
        tenant = await Tenant.create(name=name)
        key = await ApiKey.create(tenant=tenant, prefix="rx_abc", digest=name * 4, name="ci")
    return tenant.id, key.id


async def test_budget_on_a_tenant_and_a_key(admin: Admin) -> None:
    tenant_id, key_id = await tenant_and_key(admin, "budgeted")
    path = f"{API}/tenants/{tenant_id}/budget"
    async with admin.as_viewer() as viewer:
        refused = await viewer.put(path, json={"amount_usd": "10"})
        assert refused.status_code == 403
        assert (await viewer.get(path)).status_code == 404
    async with admin.as_admin() as client:
        with admin.database.active():
            version = await current_config_version()
        answer = await client.put(
            path, json={"amount_usd": "25.50", "period": "month", "thresholds": [80, 50, 100]}
        )
        assert answer.status_code == 200, answer.text
        budget = answer.json()
        assert budget["amount_usd"] == "25.50" and budget["thresholds"] == [50, 80, 100]
        assert budget["spent_usd"] == "0.00" and budget["percent"] == 0 and not budget["exhausted"]
        assert budget["resets_at"].endswith("Z") or budget["resets_at"].endswith("+00:00")
        with admin.database.active():
            assert await current_config_version() > version
            await SpendPeriod.create(
                scope="tenant",
                subject_id=tenant_id,
                period=period_key("month", dt.datetime.now(dt.UTC).timestamp()),
                spent_pico=12_750_000_000_000,
            )
        status = (await client.get(path)).json()
        assert status["spent_usd"] == "12.75" and status["percent"] == 50.0

        for bad, param in (
            ({"amount_usd": "-1"}, "amount_usd"),
            ({"amount_usd": "0"}, "amount_usd"),
            ({"amount_usd": "ten"}, "amount_usd"),
            ({"amount_usd": "1", "action": "downgrade"}, "downgrade_model"),
            ({"amount_usd": "1", "period": "year"}, "period"),
            ({"amount_usd": "1", "thresholds": [0]}, "thresholds[0]"),
            ({"amount_usd": "1", "webhook_url": "ftp://x"}, "webhook_url"),
        ):
            answer = await client.put(path, json=bad)
            assert answer.status_code == 400, (bad, answer.text)
            assert answer.json()["error"]["param"] == param, (bad, answer.json())

        key_path = f"{API}/tenants/{tenant_id}/keys/{key_id}/budget"
        answer = await client.put(
            key_path,
            json={
                "amount_usd": "1",
                "period": "day",
                "action": "downgrade",
                "downgrade_model": "gpt-4.1-nano",
            },
        )
        assert answer.status_code == 200 and answer.json()["scope"] == "key"
        assert (
            await client.put(
                f"{API}/tenants/{tenant_id}/keys/999999/budget", json={"amount_usd": "1"}
            )
        ).status_code == 404
        listed = (await client.get(f"{API}/budgets")).json()["data"]
        assert {(b["scope"], b["subject_id"]) for b in listed} >= {
            ("tenant", tenant_id),
            ("key", key_id),
        }
        assert (await client.delete(key_path)).status_code == 204
        assert (await client.get(key_path)).status_code == 404
    with admin.database.active():
        actions = await AuditEntry.filter(resource_type="budget").values_list("action", flat=True)
    assert sorted(actions) == ["create", "create", "delete"]


async def test_price_table_with_an_override(admin: Admin) -> None:
    async with admin.as_viewer() as viewer:
        table = (await viewer.get(f"{API}/prices", params={"q": "gpt-4.1-mini"})).json()
        assert table["checked"]
        row = next(r for r in table["data"] if r["origin"] == "catalog")
        assert row["prices"] == {"input": "0.40", "cached_input": "0.10", "output": "1.60"}
        assert row["source"].startswith("https://") and row["context_window"] == 1_047_576
        body = {
            "provider": "azure-east",
            "model": "gpt-4.1-mini",
            "prices": {"input": "0.30", "output": "1.20"},
        }
        assert (await viewer.put(f"{API}/prices/overrides", json=body)).status_code == 403
    async with admin.as_admin() as client:
        answer = await client.put(f"{API}/prices/overrides", json=body)
        assert answer.status_code == 200, answer.text
        override = answer.json()
        assert override["origin"] == "override" and override["prices"] == {
            "input": "0.30",
            "output": "1.20",
        }
        table = (await client.get(f"{API}/prices", params={"q": "gpt-4.1-mini"})).json()
        assert [r["origin"] for r in table["data"]] == ["override", "catalog"]
        for bad, param in (
            ({**body, "prices": {"input": "abc"}}, "prices.input"),
            ({**body, "prices": {}}, "prices"),
            ({**body, "prices": {"input": "-1"}}, "prices.input"),
            ({**body, "model": ""}, "model"),
        ):
            answer = await client.put(f"{API}/prices/overrides", json=bad)
            assert answer.status_code == 400, (bad, answer.text)
            assert answer.json()["error"]["param"] == param, answer.json()
        assert (
            await client.delete(f"{API}/prices/overrides/{override['override_id']}")
        ).status_code == 204
        assert (
            await client.delete(f"{API}/prices/overrides/{override['override_id']}")
        ).status_code == 404


async def test_spend_grouped_over_time(admin: Admin) -> None:
    first, _ = await tenant_and_key(admin, "spender-a")
    second, _ = await tenant_and_key(admin, "spender-b")
    now = dt.datetime.now(dt.UTC)
    rows = [
        (first, "mock-text", "gpt-4.1-mini", 1_500_000_000_000, False),  # $1.50
        (first, "mock-text", "gpt-4.1-mini", 250_000_000_000, True),  # $0.25, estimated
        (second, "anthropic", "claude-haiku-4-5", 3_000_000_000_000, False),  # $3.00
        (second, "self-hosted", "my-finetune", None, False),  # unknown price
    ]
    with admin.database.active():
        for i, (tenant, provider, model, cost, estimated) in enumerate(rows):
            await RequestLog.create(
                request_id=f"spend-{i}",
                created_at=now - dt.timedelta(minutes=5),
                tenant_id=tenant,
                provider=provider,
                upstream_model=model,
                rule="r",
                status=200,
                cost_picousd=cost,
                cost_estimated=estimated,
            )
    params = {"from": (now - dt.timedelta(hours=1)).isoformat(), "to": now.isoformat(), "step": 600}
    async with admin.as_viewer() as viewer:
        report = (await viewer.get(f"{API}/spend", params={**params, "group_by": "tenant"})).json()
        assert report["currency"] == "USD" and report["total_usd"] == "4.75"
        assert report["requests"] == 4 and report["unknown"] == 1
        by_tenant = {s["label"]: s for s in report["series"]}
        assert (
            by_tenant["spender-b"]["cost_usd"] == "3.00" and by_tenant["spender-b"]["unknown"] == 1
        )
        assert (
            by_tenant["spender-a"]["cost_usd"] == "1.75"
            and by_tenant["spender-a"]["estimated"] == 1
        )
        assert [s["label"] for s in report["series"]][:2] == ["spender-b", "spender-a"]
        assert sum(float(p["cost_usd"]) for p in report["total"]) == pytest.approx(4.75)
        assert len(report["total"]) in (6, 7)  # buckets align to whole steps since the epoch
        report = (await viewer.get(f"{API}/spend", params={**params, "group_by": "model"})).json()
        assert {s["group"]: s["cost_usd"] for s in report["series"]} == {
            "claude-haiku-4-5": "3.00",
            "gpt-4.1-mini": "1.75",
            "my-finetune": "0.00",
        }
        one = (
            await viewer.get(
                f"{API}/spend", params={**params, "group_by": "provider", "tenant_id": first}
            )
        ).json()
        assert [(s["group"], s["cost_usd"]) for s in one["series"]] == [("mock-text", "1.75")]
        bad = await viewer.get(f"{API}/spend", params={"group_by": "color"})
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "group_by"
