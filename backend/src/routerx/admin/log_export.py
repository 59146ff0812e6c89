"""The filtered request log as a CSV or JSON download: metadata only (the list's columns, no
attempt trace), streamed page by page and bounded to MAX_EXPORT_ROWS rows, in the list's order.

The response says how many rows matched (`x-total-count`) and whether the file holds fewer
(`x-export-truncated`), so a bounded export is never mistaken for the whole set.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import AsyncIterator
from typing import Any, Literal

import msgspec
from starlette.responses import StreamingResponse

from routerx.admin.endpoint import Call
from routerx.admin.logs import LogFilter, LogView, after, filtered, ordering, sort_column, view
from routerx.storage.models import RequestLog

MAX_EXPORT_ROWS = 10_000
PAGE_ROWS = 500
COLUMNS = LogView.__struct_fields__
# A spreadsheet runs a cell starting with one of these as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ExportQuery(LogFilter, kw_only=True):
    format: Literal["csv", "json"] = "csv"


async def _rows(query: ExportQuery, total: int) -> AsyncIterator[LogView]:
    base = filtered(query, query.tenant_id)
    queryset = base
    sent = 0
    limit = min(total, MAX_EXPORT_ROWS)
    column = sort_column(query.sort)
    while sent < limit:
        page: list[RequestLog] = await queryset.order_by(*ordering(query.sort)).limit(
            min(PAGE_ROWS, limit - sent)
        )
        if not page:
            return
        for row in page:
            yield view(row)
        sent += len(page)
        last = page[-1]
        queryset = after(base, query.sort, getattr(last, column), last.id)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    text = str(value)
    return "'" + text if isinstance(value, str) and text.startswith(FORMULA_START) else text


def _csv_line(values: list[Any]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([_cell(value) for value in values])
    return buffer.getvalue().encode()


async def _csv(rows: AsyncIterator[LogView]) -> AsyncIterator[bytes]:
    yield _csv_line(list(COLUMNS))
    async for row in rows:
        yield _csv_line([getattr(row, name) for name in COLUMNS])


async def _json(rows: AsyncIterator[LogView]) -> AsyncIterator[bytes]:
    yield b"["
    first = True
    async for row in rows:
        yield (b"" if first else b",") + msgspec.json.encode(row)
        first = False
    yield b"]"


async def export_logs(call: Call) -> StreamingResponse:
    """The filtered request log as CSV or JSON (at most 10,000 rows, in the list's order)."""
    query: ExportQuery = call.query
    total = await filtered(query, query.tenant_id).count()
    rows = _rows(query, total)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    media = "text/csv; charset=utf-8" if query.format == "csv" else "application/json"
    headers = {
        "content-disposition": f'attachment; filename="routerx-requests-{stamp}.{query.format}"',
        "x-total-count": str(total),
        "x-export-truncated": "true" if total > MAX_EXPORT_ROWS else "false",
        "cache-control": "no-store",
    }
    body = _csv(rows) if query.format == "csv" else _json(rows)
    return StreamingResponse(body, media_type=media, headers=headers)
