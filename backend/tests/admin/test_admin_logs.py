"""Request logs (filters, cursor pages, attempt trace), stats buckets and tenant isolation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx2

from routerx.auth.api_keys import digest_key
from routerx.storage.models import ApiKey, RequestLog, Tenant
from tests.admin.admin_harness import Admin

API = "/api/v1"
BASE = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def log_row(index: int, **fields: Any) -> RequestLog:
    values: dict[str, Any] = {
        "request_id": f"req-{index:04d}",
        "created_at": BASE + dt.timedelta(seconds=index),
        "tenant_id": 1,
        "model": "gpt-4.1-mini",
        "provider": "alpha",
        "status": 200,
        "latency_ms": float(index),
        "ttft_ms": float(index) / 2,
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "total_tokens": 15,
        "attempts": [
            {
                "provider": "alpha",
                "model": "m",
                "outcome": "success",
                "status": 200,
                "latency_ms": float(index),
                "breaker_state": "closed",
            }
        ],
    }
    values.update(fields)
    return RequestLog(**values)


async def seed_logs(admin: Admin, tenant_ids: tuple[int, int]) -> None:
    first, second = tenant_ids
    rows = [log_row(i, tenant_id=first) for i in range(40)]
    rows += [
        log_row(
            100 + i,
            tenant_id=second,
            api="messages",
            provider="beta",
            status=503,
            fallback=True,
            error_type="upstream_error",
            attempts=[
                {
                    "provider": "beta",
                    "model": "m",
                    "outcome": "failure",
                    "status": 503,
                    "latency_ms": 12.5,
                    "breaker_state": "closed",
                    "error_type": "http_503",
                },
                {
                    "provider": "alpha",
                    "model": "m",
                    "outcome": "failure",
                    "status": 503,
                    "latency_ms": 20.0,
                    "breaker_state": "half_open",
                    "error_type": "http_503",
                },
            ],
        )
        for i in range(10)
    ]
    with admin.database.active():
        await RequestLog.bulk_create(rows)


async def tenants(admin: Admin) -> tuple[int, int]:
    with admin.database.active():
        one = await Tenant.create(name="logs-one")
        two = await Tenant.create(name="logs-two")
    return one.id, two.id


async def test_logs_filters_cursor_pages_and_trace(own_admin: Admin) -> None:
    admin = own_admin
    ids = await tenants(admin)
    await seed_logs(admin, ids)
    async with admin.as_viewer() as client:
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"tenant_id": ids[0], "limit": 15}
            if cursor:
                params["cursor"] = cursor
            page = (await client.get(f"{API}/logs", params=params)).json()
            seen += [row["request_id"] for row in page["data"]]
            if page["next_cursor"] is None:
                break
            cursor = page["next_cursor"]
            if len(seen) == 15:
                # A newer row arriving between pages must not shift or repeat the next page.
                with admin.database.active():
                    await log_row(
                        999, tenant_id=ids[0], created_at=BASE + dt.timedelta(hours=1)
                    ).save()
        errors = await client.get(f"{API}/logs", params={"status": "5xx", "fallback": "true"})
        exact = await client.get(f"{API}/logs", params={"status": "503", "provider": "beta"})
        window = await client.get(
            f"{API}/logs",
            params={
                "from": (BASE + dt.timedelta(seconds=10)).isoformat(),
                "to": (BASE + dt.timedelta(seconds=20)).isoformat(),
            },
        )
        none = await client.get(f"{API}/logs", params={"fallback": "false", "status": "4xx"})
        trace = await client.get(f"{API}/logs/req-0100")
        missing = await client.get(f"{API}/logs/req-nope")
        bad_cursor = await client.get(f"{API}/logs", params={"cursor": "abc"})
        bad_status = await client.get(f"{API}/logs", params={"status": "5x"})
        by_api = await client.get(f"{API}/logs", params={"api": "messages", "limit": 100})
        chat = await client.get(f"{API}/logs", params={"api": "chat", "tenant_id": ids[0]})
        bad_api = await client.get(f"{API}/logs", params={"api": "Chat Completions"})
    assert seen == [f"req-{i:04d}" for i in range(39, -1, -1)]  # newest first, each once
    assert {row["request_id"] for row in errors.json()["data"]} == {
        f"req-{100 + i:04d}" for i in range(10)
    }
    assert len(exact.json()["data"]) == 10
    assert [row["request_id"] for row in window.json()["data"]] == [
        f"req-{i:04d}" for i in range(19, 9, -1)
    ]
    assert none.json() == {"data": [], "next_cursor": None}
    detail = trace.json()
    assert detail["fallback"] is True and detail["attempt_count"] == 2
    assert [a["provider"] for a in detail["attempts"]] == ["beta", "alpha"]
    assert detail["attempts"][1] == {
        "provider": "alpha",
        "model": "m",
        "outcome": "failure",
        "status": 503,
        "latency_ms": 20.0,
        "breaker_state": "half_open",
        "error_type": "http_503",
        "hedged": False,
        "reason": None,
        "cost_usd": None,  # a row written before attempts were priced: unknown
        "cost_estimated": False,
    }
    assert missing.status_code == 404
    assert bad_cursor.status_code == 400 and bad_cursor.json()["error"]["param"] == "cursor"
    assert bad_status.status_code == 400 and bad_status.json()["error"]["param"] == "status"
    assert {row["request_id"] for row in by_api.json()["data"]} == {
        f"req-{100 + i:04d}" for i in range(10)
    }
    assert {row["api"] for row in chat.json()["data"]} == {"chat"}
    assert len(chat.json()["data"]) == 41  # the 40 seeded and the one added between pages
    assert detail["api"] == "messages"
    assert bad_api.status_code == 400 and bad_api.json()["error"]["param"] == "api"


async def test_the_request_id_search_finds_the_clients_own_id_too(own_admin: Admin) -> None:
    with own_admin.database.active():
        await log_row(3000, request_id="a1b2c3d4e5f60718", client_request_id="billing-run-7").save()
        await log_row(3001, request_id="ffee0011aabb2233").save()
    async with own_admin.as_admin() as client:
        by_client = await client.get(f"{API}/logs", params={"request_id": "billing-run"})
        by_ours = await client.get(f"{API}/logs", params={"request_id": "ffee0011"})
        detail = await client.get(f"{API}/logs/a1b2c3d4e5f60718")
    assert [row["request_id"] for row in by_client.json()["data"]] == ["a1b2c3d4e5f60718"]
    assert by_client.json()["data"][0]["client_request_id"] == "billing-run-7"
    assert [row["client_request_id"] for row in by_ours.json()["data"]] == [None]
    assert detail.json()["client_request_id"] == "billing-run-7"


async def test_stats_buckets_per_provider_and_total(own_admin: Admin) -> None:
    admin = own_admin
    start = BASE + dt.timedelta(days=2)
    rows = [
        log_row(
            2000 + i,
            created_at=start + dt.timedelta(seconds=i),
            latency_ms=float(i + 1),
            ttft_ms=None if i % 2 else 5.0,
            tenant_id=None,
        )
        for i in range(100)
    ]
    rows += [
        log_row(
            3000 + i,
            created_at=start + dt.timedelta(seconds=60 + i),
            provider="beta",
            status=502,
            fallback=True,
            latency_ms=1000.0,
            tenant_id=None,
        )
        for i in range(20)
    ]
    rows.append(
        log_row(
            4000,
            created_at=start + dt.timedelta(seconds=5),
            provider=None,
            status=401,
            tenant_id=None,
        )
    )
    with admin.database.active():
        await RequestLog.bulk_create(rows)
    async with admin.as_viewer() as client:
        response = await client.get(
            f"{API}/stats",
            params={
                "from": start.isoformat(),
                "to": (start + dt.timedelta(minutes=3)).isoformat(),
                "step": 60,
            },
        )
        too_many = await client.get(
            f"{API}/stats",
            params={
                "from": start.isoformat(),
                "to": (start + dt.timedelta(days=2)).isoformat(),
                "step": 10,
            },
        )
        too_long = await client.get(
            f"{API}/stats",
            params={"from": start.isoformat(), "to": (start + dt.timedelta(days=40)).isoformat()},
        )
    assert response.status_code == 200, response.text
    stats = response.json()
    assert stats["step_s"] == 60 and len(stats["total"]) == 3 and stats["truncated"] is False
    first, second, third = stats["total"]
    assert first["requests"] == 61 and first["client_errors"] == 1 and first["errors"] == 0
    # Every target failed: the fallback flag does not make a failed request a fallback.
    assert second["requests"] == 60 and second["errors"] == 20 and second["fallbacks"] == 0
    assert second["error_rate"] == round(20 / 60, 6)
    assert third["requests"] == 0 and third["p50_latency_ms"] is None
    alpha = stats["providers"]["alpha"]
    assert alpha[0]["requests"] == 60 and alpha[0]["p50_latency_ms"] == 30.0
    assert alpha[0]["p95_latency_ms"] == 57.0 and alpha[0]["p50_ttft_ms"] == 5.0
    assert alpha[0]["total_tokens"] == 900
    assert stats["providers"]["beta"][1]["errors"] == 20
    assert "None" not in stats["providers"]
    assert too_many.status_code == 400 and too_many.json()["error"]["param"] == "step"
    assert too_long.status_code == 400 and too_long.json()["error"]["param"] == "from"


async def test_one_tenants_keys_and_logs_are_not_reachable_through_another(admin: Admin) -> None:
    with admin.database.active():
        mine = await Tenant.create(name="iso-mine")
        theirs = await Tenant.create(name="iso-theirs")
        their_key = await ApiKey.create(
            tenant=theirs, name="theirs", prefix="rx_theirs", digest=digest_key("rx_theirs_1")
        )
        await log_row(5000, tenant_id=theirs.id, request_id="req-theirs").save()
    wrong = f"{API}/tenants/{mine.id}/keys/{their_key.id}"
    async with admin.as_admin() as client:
        responses: list[httpx2.Response] = [
            await client.get(wrong),
            await client.patch(wrong, json={"name": "hijacked"}),
            await client.post(wrong + "/revoke"),
            await client.delete(wrong),
            await client.get(f"{API}/tenants/{mine.id}/logs/req-theirs"),
        ]
        scoped = await client.get(f"{API}/tenants/{mine.id}/logs", params={"tenant_id": theirs.id})
        own_keys = await client.get(f"{API}/tenants/{mine.id}/keys")
        right = await client.get(f"{API}/tenants/{theirs.id}/keys/{their_key.id}")
    assert [r.status_code for r in responses] == [404] * 5
    assert scoped.json()["data"] == []  # a query parameter cannot widen the path's scope
    assert own_keys.json()["total"] == 0
    assert right.status_code == 200 and right.json()["name"] == "theirs"
    with admin.database.active():
        untouched = await ApiKey.get(id=their_key.id)
    assert untouched.status == "active" and untouched.name == "theirs"
