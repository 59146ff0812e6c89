"""What the stats and the request log say a request became: served, fallback, interrupted,
refused, rate-limited or failed; search, sort and export of the log."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import msgspec

from routerx.admin import log_export
from routerx.admin.outcomes import Outcome, outcome_of
from routerx.storage.models import RequestLog, Tenant
from tests.admin.admin_harness import Admin
from tests.admin.test_admin_logs import log_row

API = "/api/v1"
START = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)


def incident_rows(busy: int, quiet: int, start: dt.datetime) -> list[RequestLog]:
    """Primary `alpha` failing: some requests served by `beta`, some failed everywhere, a stream
    cut, one tenant rate-limited, one refused model."""

    def at(index: int, **fields: Any) -> RequestLog:
        fields.setdefault("created_at", start + dt.timedelta(seconds=index))
        return log_row(index, **fields)

    rows = [at(i, tenant_id=busy) for i in range(10)]  # alpha, served as primary
    rows += [at(100 + i, tenant_id=busy, provider="beta", fallback=True) for i in range(7)]
    rows += [
        at(200 + i, tenant_id=busy, provider=None, status=502, fallback=True) for i in range(4)
    ]
    # A cut stream's row carries the in-stream error's status, not the 200 its headers had.
    rows.append(
        at(
            300,
            tenant_id=busy,
            provider="alpha",
            stream=True,
            status=502,
            error_type="stream_interrupted",
        )
    )
    rows += [
        at(400 + i, tenant_id=quiet, provider=None, status=429, error_type="rate_limited")
        for i in range(5)
    ]
    rows += [at(500 + i, tenant_id=quiet) for i in range(10)]
    rows.append(at(600, tenant_id=None, provider=None, status=401))
    rows.append(at(700, tenant_id=quiet, provider=None, status=404, model="gpt-unknown"))
    return rows


async def seed_incident(admin: Admin, hour: int) -> tuple[int, int, dict[str, str]]:
    """The incident's rows in an hour of their own (the module shares one database); returns
    the tenants and a `from`/`to` window holding exactly these rows."""
    start = START + dt.timedelta(hours=hour)
    with admin.database.active():
        busy = await Tenant.create(name=f"incident-busy-{hour}")
        quiet = await Tenant.create(name=f"incident-limited-{hour}")
        await RequestLog.bulk_create(incident_rows(busy.id, quiet.id, start))
    window = {
        "from": start.isoformat(),
        "to": (start + dt.timedelta(minutes=15)).isoformat(),
    }
    return busy.id, quiet.id, window


def totals(points: list[dict[str, Any]], name: str) -> int:
    return sum(point[name] for point in points)


async def test_stats_count_the_provider_that_answered_and_each_outcome(admin: Admin) -> None:
    busy, quiet, window = await seed_incident(admin, 1)
    params = {**window, "step": 60}
    async with admin.as_viewer() as client:
        stats = (await client.get(f"{API}/stats", params=params)).json()
        limited = (await client.get(f"{API}/stats", params={**params, "tenant_id": quiet})).json()
    assert stats["outcomes"] == {
        "requests": 39,
        "success": 20,
        "fallback": 7,
        "interrupted": 1,
        "refused": 2,
        "rate_limited": 5,
        "cancelled": 0,
        "failed": 4,
    }
    total = stats["total"]
    assert totals(total, "fallbacks") == 7  # not 11: the 4 failed requests served nothing
    assert totals(total, "errors") == 4 and totals(total, "interrupted") == 1
    assert totals(total, "rate_limited") == 5 and totals(total, "client_errors") == 7
    # Requests no provider answered are a line of their own, errors included.
    no_provider = stats["no_provider"]
    assert totals(no_provider, "requests") == 11 and totals(no_provider, "errors") == 4
    assert sorted(stats["providers"]) == ["alpha", "beta"]
    assert totals(stats["providers"]["beta"], "fallbacks") == 7
    alpha = stats["providers"]["alpha"]
    assert totals(alpha, "requests") == 21 and totals(alpha, "interrupted") == 1
    # The stream cut in minute 5 is that minute's only request: not a success.
    assert alpha[5]["requests"] == 1 and alpha[5]["error_rate"] == 1.0
    by_tenant = {entry["tenant_id"]: entry["outcomes"] for entry in stats["tenants"]}
    assert by_tenant[quiet]["rate_limited"] == 5 and by_tenant[quiet]["requests"] == 16
    assert by_tenant[busy]["failed"] == 4 and by_tenant[busy]["fallback"] == 7
    assert stats["tenants"][-1]["tenant_id"] is None
    assert limited["outcomes"]["requests"] == 16 and limited["outcomes"]["rate_limited"] == 5
    assert [entry["tenant_id"] for entry in limited["tenants"]] == [quiet]


async def test_log_outcome_column_and_filter_agree_with_the_stats(admin: Admin) -> None:
    _, _, window = await seed_incident(admin, 2)
    counted: dict[str, int] = {}
    async with admin.as_viewer() as client:
        stats = (await client.get(f"{API}/stats", params=window)).json()
        everything = (await client.get(f"{API}/logs", params={**window, "limit": 200})).json()
        for outcome in Outcome:
            params = {**window, "outcome": outcome.value, "limit": 200}
            page = await client.get(f"{API}/logs", params=params)
            rows = page.json()["data"]
            assert {row["outcome"] for row in rows} <= {outcome.value}
            counted[outcome.value] = len(rows)
        bad = await client.get(f"{API}/logs", params={"outcome": "green"})
    assert counted == {k: v for k, v in stats["outcomes"].items() if k != "requests"}
    everything = everything["data"]
    cut = next(row for row in everything if row["request_id"] == "req-0300")
    assert cut["status"] == 502 and cut["outcome"] == "interrupted"
    failed = next(row for row in everything if row["request_id"] == "req-0200")
    assert failed["fallback"] is True and failed["outcome"] == "failed"
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "outcome"


def test_outcome_of_each_status_shape() -> None:
    assert outcome_of(200, None, False) is Outcome.SUCCESS
    assert outcome_of(200, None, True) is Outcome.FALLBACK
    assert outcome_of(200, "stream_interrupted", True) is Outcome.INTERRUPTED
    assert outcome_of(503, "upstream_http_error", True) is Outcome.FAILED
    assert outcome_of(429, "rate_limited", False) is Outcome.RATE_LIMITED
    assert outcome_of(499, "client_disconnected", False) is Outcome.CANCELLED
    assert outcome_of(400, "upstream_error", False) is Outcome.REFUSED
    assert outcome_of(0, None, False) is Outcome.FAILED


async def test_search_by_request_id_model_prefix_and_sorted_pages(admin: Admin) -> None:
    start = START + dt.timedelta(days=1)
    window = {"from": start.isoformat(), "to": (start + dt.timedelta(hours=1)).isoformat()}
    rows = [
        log_row(
            i,
            request_id=f"5f0c2d9e1a7b4c33{i:08x}",
            model="gpt-4.1-mini" if i % 2 else "claude-sonnet-4",
            latency_ms=float((i * 37) % 50),
            created_at=start + dt.timedelta(seconds=i),
        )
        for i in range(50)
    ]
    with admin.database.active():
        await RequestLog.bulk_create(rows)
    async with admin.as_viewer() as client:
        found = (await client.get(f"{API}/logs", params={"request_id": "0000002a"})).json()
        prefix = (
            await client.get(f"{API}/logs", params={**window, "model": "gpt-4", "limit": 200})
        ).json()
        exact_is_prefix = (
            await client.get(f"{API}/logs", params={**window, "model": "claude"})
        ).json()
        seen: list[tuple[float, str]] = []
        cursor = None
        while True:
            params: dict[str, Any] = {**window, "sort": "latency_ms", "limit": 7}
            if cursor:
                params["cursor"] = cursor
            page = (await client.get(f"{API}/logs", params=params)).json()
            seen += [(row["latency_ms"], row["request_id"]) for row in page["data"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
            kept = cursor
        mixed = await client.get(f"{API}/logs", params={"sort": "-status", "cursor": kept})
        descending = (
            await client.get(f"{API}/logs", params={**window, "sort": "-latency_ms", "limit": 3})
        ).json()
        bad_sort = await client.get(f"{API}/logs", params={"sort": "prompt"})
    assert [row["request_id"] for row in found["data"]] == ["5f0c2d9e1a7b4c330000002a"]
    assert len(prefix["data"]) == 25 and {r["model"] for r in prefix["data"]} == {"gpt-4.1-mini"}
    assert {row["model"] for row in exact_is_prefix["data"]} == {"claude-sonnet-4"}
    assert len(seen) == 50 and len({rid for _, rid in seen}) == 50
    assert [latency for latency, _ in seen] == sorted(latency for latency, _ in seen)
    assert [row["latency_ms"] for row in descending["data"]] == [49.0, 48.0, 47.0]
    assert mixed.status_code == 400 and mixed.json()["error"]["param"] == "cursor"
    assert bad_sort.status_code == 400 and bad_sort.json()["error"]["param"] == "sort"


async def test_export_streams_the_filtered_set_as_csv_and_json(admin: Admin) -> None:
    _, _, window = await seed_incident(admin, 3)
    with admin.database.active():
        await log_row(
            900, model="=HYPERLINK(1)", created_at=START + dt.timedelta(days=3), tenant_id=None
        ).save()
    async with admin.as_viewer() as client:
        as_csv = await client.get(f"{API}/logs/export", params={**window, "outcome": "failed"})
        as_json = await client.get(
            f"{API}/logs/export", params={**window, "format": "json", "sort": "created_at"}
        )
        formula = await client.get(f"{API}/logs/export", params={"model": "=HYPER"})
        bad = await client.get(f"{API}/logs/export", params={"format": "xlsx"})
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in as_csv.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [row["request_id"] for row in table] == [f"req-{203 - i:04d}" for i in range(4)]
    assert {row["outcome"] for row in table} == {"failed"}
    assert list(table[0]) == list(log_export.COLUMNS) and "attempts" not in table[0]
    assert as_csv.headers["x-total-count"] == "4"
    assert as_csv.headers["x-export-truncated"] == "false"
    exported = msgspec.json.decode(as_json.content)
    assert len(exported) == 39 and exported[0]["request_id"] == "req-0000"
    assert next(csv.DictReader(io.StringIO(formula.text)))["model"] == "'=HYPERLINK(1)"
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "format"


async def test_export_is_bounded(admin: Admin, monkeypatch: Any) -> None:
    monkeypatch.setattr(log_export, "MAX_EXPORT_ROWS", 12)
    monkeypatch.setattr(log_export, "PAGE_ROWS", 5)
    _, _, window = await seed_incident(admin, 4)
    async with admin.as_viewer() as client:
        response = await client.get(f"{API}/logs/export", params={**window, "format": "json"})
    rows = msgspec.json.decode(response.content)
    assert len(rows) == 12 and len({row["request_id"] for row in rows}) == 12
    assert response.headers["x-total-count"] == "39"
    assert response.headers["x-export-truncated"] == "true"
