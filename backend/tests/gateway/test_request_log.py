"""The request log: one row per request with its attempts; rows survive write failures."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from routerx.core.log_row import LogRow
from routerx.storage.log_writer import RequestLogWriter, write_to_database
from routerx.storage.models import ApiKey, RequestLog
from tests.gateway.conftest import AUTH, RunningGateway
from tests.gateway.test_privacy import wait_for_rows
from tests.support.database import connected, prepare

TEXT = {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "hi"}]}


async def test_one_row_per_request_with_attempts(pg_gateway: RunningGateway) -> None:
    async with connected(pg_gateway.database_url):
        before = await RequestLog.all().count()
    ids = []
    async with aiohttp.ClientSession() as session:
        for body in (TEXT, {**TEXT, "stream": True}, {**TEXT, "model": "nope"}):
            async with session.post(
                pg_gateway.url + "/v1/chat/completions", json=body, headers=AUTH
            ) as response:
                await response.read()
                ids.append(response.headers["x-request-id"])
    await wait_for_rows(pg_gateway.database_url, before + 3)
    async with connected(pg_gateway.database_url):
        rows = {r.request_id: r for r in await RequestLog.filter(request_id__in=ids)}
    assert len(rows) == 3
    plain, stream, missing = (rows[i] for i in ids)
    assert (plain.status, plain.stream, plain.provider, plain.capability) == (
        200,
        False,
        "mock-text",
        "text",
    )
    assert plain.attempts == [
        {
            "provider": "mock-text",
            "model": "gpt-4.1-mini",
            "outcome": "success",
            "status": 200,
            "latency_ms": plain.attempts[0]["latency_ms"],
            # gpt-4.1-mini at $0.40 / $1.60 per million tokens, in picodollars
            "cost_picousd": plain.prompt_tokens * 400_000 + plain.completion_tokens * 1_600_000,
        }
    ]
    assert plain.cost_picousd == plain.attempts[0]["cost_picousd"]
    assert plain.total_tokens == plain.prompt_tokens + plain.completion_tokens > 0
    assert plain.tenant_id is not None and plain.key_id is not None
    assert stream.stream and stream.status == 200 and stream.ttft_ms is not None
    assert stream.total_tokens > 0, "stream usage is recorded even without include_usage"
    assert (missing.status, missing.error_type, missing.provider) == (404, "model_not_found", None)
    assert {row.api for row in rows.values()} == {"chat"}
    async with connected(pg_gateway.database_url):
        key = await ApiKey.get(id=plain.key_id)
    assert key.last_used_at is not None and key.last_used_at >= plain.created_at


def row(n: int) -> LogRow:
    return LogRow(request_id=f"r{n}", created_at=0.0, status=200)


async def test_failed_writes_are_retried_not_lost() -> None:
    written: list[str] = []
    failures = 2

    async def flaky_sink(rows: list[LogRow]) -> None:
        nonlocal failures
        if failures:
            failures -= 1
            raise ConnectionError("database down")
        written.extend(r.request_id for r in rows)

    writer = RequestLogWriter(flaky_sink, capacity=100, batch_size=10, flush_interval_s=0.01)
    for n in range(25):
        writer.submit(row(n))
    task = asyncio.create_task(writer.run())
    try:
        async with asyncio.timeout(10):
            while writer.pending:
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
    assert written == [f"r{n}" for n in range(25)]
    assert writer.dropped == 0 and writer.written == 25


async def test_rows_past_capacity_are_counted_as_dropped() -> None:
    async def dead_sink(rows: list[LogRow]) -> None:
        raise ConnectionError("database down")

    writer = RequestLogWriter(dead_sink, capacity=5, batch_size=5)
    for n in range(8):
        writer.submit(row(n))
    assert (writer.pending, writer.dropped) == (5, 3)
    assert not await writer.flush(timeout_s=0.2)


@pytest.mark.parametrize("pending", [0, 3])
async def test_flush_writes_everything_buffered(pending: int) -> None:
    written: list[LogRow] = []

    async def sink(rows: list[LogRow]) -> None:
        written.extend(rows)

    writer = RequestLogWriter(sink, batch_size=2)
    for n in range(pending):
        writer.submit(row(n))
    assert await writer.flush()
    assert len(written) == pending


async def test_a_row_the_database_refuses_is_dropped_and_counted_not_retried_for_ever() -> None:
    written: list[str] = []

    async def picky_sink(rows: list[LogRow]) -> None:
        if any(r.request_id == "poison" for r in rows):
            raise ValueError("value the database refuses")
        written.extend(r.request_id for r in rows)

    async def database_up() -> bool:
        return True

    writer = RequestLogWriter(picky_sink, probe=database_up, batch_size=10)
    for request_id in ("a", "poison", "b"):
        writer.submit(LogRow(request_id=request_id, created_at=0.0, status=200))
    assert await writer.flush(timeout_s=2)
    assert written == ["a", "b"]
    assert (writer.written, writer.dropped, writer.healthy) == (2, 1, True)


async def test_rows_that_arrive_during_a_write_wait_for_the_next_flush() -> None:
    """A steady trickle of requests is written in batches, not in a round trip per row."""
    batches: list[list[str]] = []

    async def sink(rows: list[LogRow]) -> None:
        batches.append([r.request_id for r in rows])
        if len(batches) == 1:  # requests answered while the first batch is being written
            for n in range(2, 5):
                writer.submit(row(n))

    writer = RequestLogWriter(sink, batch_size=10)
    writer.submit(row(0))
    writer.submit(row(1))
    assert await writer._write_due()
    assert batches == [["r0", "r1"]] and writer.pending == 3
    assert await writer._write_due()
    assert batches[1] == ["r2", "r3", "r4"] and writer.pending == 0


async def test_a_backlog_due_at_a_flush_is_written_whole_in_batches() -> None:
    batches: list[int] = []

    async def sink(rows: list[LogRow]) -> None:
        batches.append(len(rows))

    writer = RequestLogWriter(sink, batch_size=10)
    for n in range(25):
        writer.submit(row(n))
    assert await writer._write_due()
    assert batches == [10, 10, 5] and writer.written == 25


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
async def test_a_batch_is_inserted_and_touches_its_keys_last_use(
    dialect: str, pg_url: str, tmp_path: Path
) -> None:
    url = pg_url if dialect == "postgres" else f"sqlite://{tmp_path / 'log.sqlite3'}"
    await prepare(url)
    async with connected(url):
        keys = await ApiKey.all().order_by("id")
        rows = [
            LogRow(request_id=f"k{n}", created_at=1_700_000_000.0 + n, status=200) for n in range(3)
        ]
        rows[0].key_id = rows[2].key_id = keys[0].id
        await write_to_database(rows)
        logged = await RequestLog.filter(request_id__startswith="k").order_by("created_at")
        touched = await ApiKey.get(id=keys[0].id)
    assert [r.request_id for r in logged] == ["k0", "k1", "k2"]
    assert touched.last_used_at is not None
    assert touched.last_used_at.timestamp() == 1_700_000_002.0
