"""The request log: filtered, sorted (newest first by default), with an opaque cursor that stays
stable while the gateway keeps inserting; and one request's full attempt trace.

The cursor is the (sort value, id) of the last row shown: the next page continues strictly past
it, so rows inserted meanwhile never shift or repeat what the next page shows.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Annotated, Any, Literal, cast

import msgspec
from msgspec import UNSET, UnsetType
from tortoise.expressions import Q

from routerx.admin.endpoint import Call
from routerx.admin.errors import invalid, not_found
from routerx.admin.outcomes import Outcome, outcome_filter, outcome_of
from routerx.admin.pagination import Id, Limit, SearchText, Text64, Text100, Timestamp, time_range
from routerx.admin.tenants import get_tenant
from routerx.spend.money import usd_text
from routerx.storage.models import RequestLog

StatusFilter = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^([1-5][0-9][0-9]|[1-5]xx)$",
        description="An exact status such as 503, or a class such as 5xx.",
    ),
]
ApiName = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[a-z_]{1,32}$",
        description="The API surface: chat, responses, messages or embeddings.",
    ),
]
Cursor = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_-]+$")]
SortColumn = Literal["created_at", "latency_ms", "status", "total_tokens"]
Sort = Literal[
    "created_at",
    "-created_at",
    "latency_ms",
    "-latency_ms",
    "status",
    "-status",
    "total_tokens",
    "-total_tokens",
]


class AttemptView(msgspec.Struct):
    provider: str
    model: str
    outcome: str
    status: int | None = None
    latency_ms: float = 0.0
    breaker_state: str = "closed"
    error_type: str | None = None
    hedged: bool = False
    reason: str | None = None
    cost_usd: str | None = None  # a decimal string; null: unknown price
    cost_estimated: bool = False


class LogView(msgspec.Struct, kw_only=True):
    request_id: str
    created_at: Timestamp
    tenant_id: int | None
    key_id: int | None
    model: str
    api: str
    capability: str
    provider: str | None
    upstream_model: str | None
    rule: str | None
    fallback: bool
    stream: bool
    status: int
    outcome: Outcome
    error_type: str | None
    latency_ms: float
    ttft_ms: float | None
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    trace_id: str | None
    attempt_count: int
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: str | None = None  # a decimal string; null: unknown price (shown "unknown")
    cost_estimated: bool = False
    budget_action: str | None = None
    client_request_id: str | None = None  # the client's own x-request-id, if it sent one


class LogDetail(LogView, kw_only=True):
    attempts: list[AttemptView]


class LogPage(msgspec.Struct):
    data: list[LogView]
    next_cursor: str | None


class LogFilter(msgspec.Struct, kw_only=True):
    """`model` matches a prefix ("gpt-4" finds gpt-4.1-mini); `request_id` any part of
    RouterX's id or of the client's own (`client_request_id`)."""

    tenant_id: Id | UnsetType = UNSET
    provider: Text100 | UnsetType = UNSET
    model: SearchText | UnsetType = UNSET
    request_id: Text64 | UnsetType = UNSET
    api: ApiName | UnsetType = UNSET
    status: StatusFilter | UnsetType = UNSET
    outcome: Outcome | UnsetType = UNSET
    fallback: bool | UnsetType = UNSET
    since: Timestamp | UnsetType = msgspec.field(default=UNSET, name="from")
    until: Timestamp | UnsetType = msgspec.field(default=UNSET, name="to")
    sort: Sort = "-created_at"


class LogQuery(LogFilter, kw_only=True):
    cursor: Cursor | UnsetType = UNSET
    limit: Limit = 50


def _attempts(raw: Any) -> list[AttemptView]:
    attempts = []
    for item in raw if isinstance(raw, list) else []:
        try:
            fields = item
            if isinstance(item, dict) and "cost_picousd" in item:
                fields = {k: v for k, v in item.items() if k != "cost_picousd"}
                fields["cost_usd"] = usd_text(item["cost_picousd"])
            attempts.append(msgspec.convert(fields, AttemptView))
        except msgspec.ValidationError:
            continue
    return attempts


def _fields(row: RequestLog) -> dict[str, Any]:
    return {
        "request_id": row.request_id,
        "created_at": row.created_at,
        "tenant_id": row.tenant_id,
        "key_id": row.key_id,
        "model": row.model,
        "api": row.api,
        "capability": row.capability,
        "provider": row.provider,
        "upstream_model": row.upstream_model,
        "rule": row.rule,
        "fallback": row.fallback,
        "stream": row.stream,
        "status": row.status,
        "outcome": outcome_of(row.status, row.error_type, row.fallback),
        "error_type": row.error_type,
        "latency_ms": row.latency_ms,
        "ttft_ms": row.ttft_ms,
        "prompt_tokens": row.prompt_tokens,
        "completion_tokens": row.completion_tokens,
        "total_tokens": row.total_tokens,
        "trace_id": row.trace_id,
        "attempt_count": len(row.attempts) if isinstance(row.attempts, list) else 0,
        "cached_tokens": row.cached_tokens,
        "cache_write_tokens": row.cache_write_tokens,
        "reasoning_tokens": row.reasoning_tokens,
        "cost_usd": usd_text(row.cost_picousd),
        "cost_estimated": row.cost_estimated,
        "budget_action": row.budget_action,
        "client_request_id": row.client_request_id,
    }


def view(row: RequestLog) -> LogView:
    return LogView(**_fields(row))


def detail(row: RequestLog) -> LogDetail:
    return LogDetail(**_fields(row), attempts=_attempts(row.attempts))


EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MICROSECOND = dt.timedelta(microseconds=1)


def sort_column(sort: str) -> SortColumn:
    return cast(SortColumn, sort.removeprefix("-"))


def encode_cursor(row: RequestLog, sort: str) -> str:
    column = sort_column(sort)
    value: Any = getattr(row, column)
    if column == "created_at":
        value = (row.created_at - EPOCH) // MICROSECOND
    raw = msgspec.json.encode([sort, value, row.id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[Any, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        issued_for, number, row_id = msgspec.json.decode(raw, type=tuple[str, int | float, int])
        value: Any = number
        if sort_column(sort) == "created_at":
            value = EPOCH + int(number) * MICROSECOND
    except (ValueError, TypeError, OverflowError, msgspec.DecodeError):
        raise invalid("The cursor is not one this API issued.", "cursor") from None
    if issued_for != sort:
        raise invalid("The cursor belongs to another sort order; start again.", "cursor")
    return value, row_id


def _status_filter(status: str) -> dict[str, int]:
    if status.endswith("xx"):
        low = int(status[0]) * 100
        return {"status__gte": low, "status__lt": low + 100}
    return {"status": int(status)}


def filtered(query: LogFilter, tenant_id: int | UnsetType) -> Any:
    filters: dict[str, Any] = {}
    if tenant_id is not UNSET:
        filters["tenant_id"] = tenant_id
    for name in ("provider", "api", "fallback"):
        if (value := getattr(query, name)) is not UNSET:
            filters[name] = value
    if query.model is not UNSET:
        filters["model__startswith"] = query.model
    if query.status is not UNSET:
        filters.update(_status_filter(query.status))
    filters.update(time_range("created_at", query.since, query.until))
    queryset = RequestLog.filter(**filters)
    if query.request_id is not UNSET:
        queryset = queryset.filter(
            Q(request_id__contains=query.request_id)
            | Q(client_request_id__contains=query.request_id)
        )
    if query.outcome is not UNSET:
        queryset = queryset.filter(outcome_filter(query.outcome))
    return queryset


def ordering(sort: str) -> tuple[str, str]:
    return (sort, "-id") if sort.startswith("-") else (sort, "id")


def after(queryset: Any, sort: str, value: Any, row_id: int) -> Any:
    """Rows strictly past (value, id) in the sort order."""
    column = sort_column(sort)
    past = "lt" if sort.startswith("-") else "gt"
    return queryset.filter(
        Q(**{f"{column}__{past}": value}) | Q(**{column: value, f"id__{past}": row_id})
    )


async def _page(query: LogQuery, tenant_id: int | UnsetType) -> LogPage:
    queryset = filtered(query, tenant_id)
    if query.cursor is not UNSET:
        value, row_id = decode_cursor(query.cursor, query.sort)
        queryset = after(queryset, query.sort, value, row_id)
    rows = await queryset.order_by(*ordering(query.sort)).limit(query.limit + 1)
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    cursor = encode_cursor(rows[-1], query.sort) if more and rows else None
    return LogPage([view(row) for row in rows], cursor)


async def list_logs(call: Call) -> LogPage:
    query: LogQuery = call.query
    return await _page(query, query.tenant_id)


async def read_log(call: Call) -> LogDetail:
    # A client may reuse its x-request-id (retries): the latest request with it is shown.
    row = await RequestLog.filter(request_id=call.path["request_id"]).order_by("-id").first()
    if row is None:
        raise not_found("Request", "with that id")
    return detail(row)


async def list_tenant_logs(call: Call) -> LogPage:
    """One tenant's requests; a `tenant_id` query parameter cannot widen the scope."""
    tenant = await get_tenant(call.path["tenant_id"])
    return await _page(call.query, tenant.id)


async def read_tenant_log(call: Call) -> LogDetail:
    row = (
        await RequestLog.filter(
            request_id=call.path["request_id"], tenant_id=call.path["tenant_id"]
        )
        .order_by("-id")
        .first()
    )
    if row is None:
        raise not_found("Request", "with that id for this tenant")
    return detail(row)
