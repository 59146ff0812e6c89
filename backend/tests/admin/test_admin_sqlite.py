"""Smoke test of the admin API on the embedded SQLite database."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from routerx.storage.models import RequestLog
from tests.admin.admin_harness import Admin, running_admin

API = "/api/v1"


@pytest.fixture(scope="module")
async def sqlite_admin(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Admin]:
    path: Path = tmp_path_factory.mktemp("admin-sqlite") / "routerx.sqlite3"
    async with running_admin(f"sqlite://{path}") as admin:
        yield admin


async def test_configuration_round_trip_on_sqlite(sqlite_admin: Admin) -> None:
    async with sqlite_admin.as_admin() as client:
        tenant = (await client.post(f"{API}/tenants", json={"name": "lite"})).json()
        key = await client.post(f"{API}/tenants/{tenant['id']}/keys", json={"name": "k"})
        provider = await client.post(
            f"{API}/providers",
            json={"name": "lite-mock", "type": "mock", "capabilities": ["text", "vision"]},
        )
        rule = await client.post(
            f"{API}/rules",
            json={
                "name": "lite-rule",
                "model_pattern": "*",
                "capability": "vision",
                "targets": [{"provider": "lite-mock"}],
            },
        )
        duplicate = await client.post(f"{API}/tenants", json={"name": "lite"})
        audit = await client.get(f"{API}/audit", params={"actor": "admin", "limit": 10})
        me = await client.get(f"{API}/auth/me")
    assert key.status_code == provider.status_code == rule.status_code == 201
    assert duplicate.status_code == 409
    changes = [entry for entry in audit.json()["data"] if entry["action"] != "login"]
    assert len(changes) == 4
    assert me.json()["default_password"] is True


async def test_logs_cursor_and_stats_on_sqlite(sqlite_admin: Admin) -> None:
    start = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    with sqlite_admin.database.active():
        await RequestLog.bulk_create(
            [
                RequestLog(
                    request_id=f"lite-{i}",
                    status=200 if i % 4 else 500,
                    created_at=start + dt.timedelta(seconds=i, microseconds=i * 7),
                    provider="lite-mock",
                    latency_ms=float(i),
                    attempts=[],
                )
                for i in range(25)
            ]
        )
    async with sqlite_admin.as_viewer() as client:
        seen: list[str] = []
        params: dict[str, str | int] = {"limit": 10}
        while True:
            page = (await client.get(f"{API}/logs", params=params)).json()
            seen += [row["request_id"] for row in page["data"]]
            if not page["next_cursor"]:
                break
            params["cursor"] = page["next_cursor"]
        stats = await client.get(
            f"{API}/stats",
            params={
                "from": start.isoformat(),
                "to": (start + dt.timedelta(minutes=1)).isoformat(),
                "step": 30,
            },
        )
    assert seen == [f"lite-{i}" for i in range(24, -1, -1)]
    total = stats.json()["total"]
    assert [bucket["requests"] for bucket in total] == [25, 0]
    assert total[0]["errors"] == 7 and total[0]["p50_latency_ms"] == 12.0
