"""Request-log rows leave the hot path through a bounded queue and are written in batches.

A batch that fails to write is retried with backoff (the rows stay buffered, bounded by the queue
size); a row dropped because the buffer is full is counted, never lost silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
from tortoise import Tortoise

from routerx.core.log_row import LogRow
from routerx.storage.models import ApiKey, RequestLog
from routerx.telemetry import metrics

log = logging.getLogger("routerx.request_log")

_encode = msgspec.json.Encoder().encode
BatchSink = Callable[[list[LogRow]], Awaitable[None]]
MAX_BACKOFF_S = 2.0


_COLUMNS = tuple(field for field in LogRow.__struct_fields__)
_SQL: dict[str, str] = {}


def _insert_sql(dialect: str) -> str:
    """A plain multi-row INSERT: building a Tortoise model per row cost more than the write."""
    if dialect not in _SQL:
        marks = (
            [f"${i}" for i in range(1, len(_COLUMNS) + 1)]
            if dialect == "postgres"
            else ["?"] * len(_COLUMNS)
        )
        columns = ", ".join(f'"{column}"' for column in _COLUMNS)
        _SQL[dialect] = (
            f'INSERT INTO "{RequestLog._meta.db_table}" ({columns}) '  # noqa: S608 - fixed names
            f"VALUES ({', '.join(marks)})"
        )
    return _SQL[dialect]


def _touch_keys_sql(dialect: str, keys: int) -> str:
    marks = [f"${i}" for i in range(2, keys + 2)] if dialect == "postgres" else ["?"] * keys
    first = "$1" if dialect == "postgres" else "?"
    return (
        f'UPDATE "{ApiKey._meta.db_table}" SET "last_used_at" = {first} '  # noqa: S608 - fixed names
        f'WHERE "id" IN ({", ".join(marks)})'
    )


def _timestamp(unix: float, dialect: str) -> datetime | str:
    """SQLite keeps Tortoise's text form of a datetime; asyncpg takes the object."""
    moment = datetime.fromtimestamp(unix, UTC)
    return moment if dialect == "postgres" else str(moment)


def _values(row: LogRow, dialect: str) -> list[Any]:
    values: list[Any] = []
    for column in _COLUMNS:
        if column == "created_at":
            values.append(_timestamp(row.created_at, dialect))
        elif column == "attempts":
            values.append(_encode(row.attempts).decode())
        else:
            values.append(getattr(row, column))
    return values


async def write_to_database(rows: list[LogRow]) -> None:
    """One INSERT for the batch, and one UPDATE for the keys' last-used times (exact to within
    one batch, which is at most the flush interval), both plain SQL: building the UPDATE with
    the ORM cost more than the statement.

    Not one transaction: Tortoise's `in_transaction` leaves a connection whose BEGIN failed
    (the database just went away) set as this task's connection, so the writer would never
    see the database come back."""
    connection = Tortoise.get_connection("default")
    dialect = connection.capabilities.dialect
    await connection.execute_many(_insert_sql(dialect), [_values(row, dialect) for row in rows])
    key_ids = sorted({row.key_id for row in rows if row.key_id is not None})
    if key_ids:
        latest = max(row.created_at for row in rows if row.key_id is not None)
        await connection.execute_query(
            _touch_keys_sql(dialect, len(key_ids)), [_timestamp(latest, dialect), *key_ids]
        )


async def database_answers() -> bool:
    try:
        await Tortoise.get_connection("default").execute_query("SELECT 1")
    except Exception:
        return False
    return True


class RequestLogWriter:
    def __init__(
        self,
        sink: BatchSink = write_to_database,
        *,
        probe: Callable[[], Awaitable[bool]] = database_answers,
        capacity: int = 10_000,
        batch_size: int = 200,
        flush_interval_s: float = 0.5,
    ) -> None:
        self._sink = sink
        self._probe = probe
        self._capacity = capacity
        self._batch_size = batch_size
        self._flush_interval_s = flush_interval_s
        self._buffer: deque[LogRow] = deque()
        self._wakeup = asyncio.Event()
        self._failing = False
        self.written = 0
        self.dropped = 0

    @property
    def pending(self) -> int:
        return len(self._buffer)

    @property
    def healthy(self) -> bool:
        return not self._failing

    def submit(self, row: LogRow) -> None:
        """Queue a row without waiting. Past capacity the row is dropped and counted."""
        if len(self._buffer) >= self._capacity:
            self.dropped += 1
            metrics.REQUEST_LOG_DROPPED.inc()
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.error("request-log buffer full: %d row(s) dropped so far", self.dropped)
            return
        self._buffer.append(row)
        if len(self._buffer) >= self._batch_size:
            self._wakeup.set()

    async def _write_batch(self, limit: int | None = None) -> bool:
        size = min(self._batch_size, len(self._buffer), limit or self._batch_size)
        batch = [self._buffer[i] for i in range(size)]
        try:
            await self._sink(batch)
            written = len(batch)
        except Exception as exc:
            metrics.REQUEST_LOG_WRITE_FAILURES.inc()
            if not await self._probe():
                if not self._failing:
                    log.warning(
                        "request-log write failed, rows kept for retry: %s", type(exc).__name__
                    )
                self._failing = True
                return False
            # The database answers, so the batch holds a row it refuses: write the rows one by
            # one and drop (and count) only the ones refused, instead of retrying for ever.
            written = await self._write_one_by_one(batch)
        for _ in batch:
            self._buffer.popleft()
        self.written += written
        metrics.REQUEST_LOG_WRITTEN.inc(written)
        if self._failing:
            log.info("request-log writes recovered; %d row(s) pending", len(self._buffer))
        self._failing = False
        return True

    async def _write_one_by_one(self, batch: list[LogRow]) -> int:
        written = 0
        for row in batch:
            try:
                await self._sink([row])
                written += 1
            except Exception as exc:
                self.dropped += 1
                metrics.REQUEST_LOG_DROPPED.inc()
                log.error(
                    "request-log row refused by the database and dropped: %s",
                    type(exc).__name__,
                    extra={"request_id": row.request_id},
                )
        return written

    async def run(self) -> None:
        backoff = self._flush_interval_s
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=backoff)
            self._wakeup.clear()
            metrics.REQUEST_LOG_PENDING.set(len(self._buffer))
            if await self._write_due():
                backoff = self._flush_interval_s
            else:
                backoff = min(MAX_BACKOFF_S, backoff * 2)

    async def _write_due(self) -> bool:
        """The rows buffered at the wake-up, in batches. Rows that arrive meanwhile wait for the
        next interval (or a full batch): otherwise a steady trickle of requests keeps the writer
        busy with batches of one or two rows, a round trip each."""
        due = len(self._buffer)
        while due > 0 and self._buffer:
            if not await self._write_batch(due):
                return False
            due -= self._batch_size
        return True

    async def flush(self, timeout_s: float = 10.0) -> bool:
        """Write everything buffered (used at shutdown). Returns True if the buffer emptied."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self._buffer and loop.time() < deadline:
            if not await self._write_batch():
                await asyncio.sleep(min(0.2, max(0.0, deadline - loop.time())))
        if self._buffer:
            log.error("shutdown: %d request-log row(s) could not be written", len(self._buffer))
            metrics.REQUEST_LOG_DROPPED.inc(len(self._buffer))
        return not self._buffer
