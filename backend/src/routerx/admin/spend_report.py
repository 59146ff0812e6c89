"""Spend over time from the request log, grouped by tenant, key, provider, model or rule.

Same bounds as the stats charts (range, buckets, rows read); costs are summed as exact
integers and returned as decimal strings. Requests with an unknown price are counted apart:
never folded into the total as 0.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

import msgspec
from msgspec import UNSET, UnsetType
from tortoise.expressions import Q

from routerx.admin.endpoint import Call
from routerx.admin.pagination import Id, Timestamp, as_utc
from routerx.admin.stats import MAX_ROWS, PAGE_ROWS, Step, Window, window
from routerx.spend.money import usd_text
from routerx.storage.models import ApiKey, RequestLog, Tenant

GroupBy = Literal["tenant", "key", "provider", "model", "rule"]
COLUMNS = (
    "id",
    "created_at",
    "tenant_id",
    "key_id",
    "provider",
    "upstream_model",
    "rule",
    "cost_picousd",
    "cost_estimated",
)
_GROUP_COLUMN = {"tenant": 2, "key": 3, "provider": 4, "model": 5, "rule": 6}
TOP = 10  # series returned; the rest are summed into "other"


class SpendQuery(msgspec.Struct, kw_only=True):
    since: Timestamp | UnsetType = msgspec.field(default=UNSET, name="from")
    until: Timestamp | UnsetType = msgspec.field(default=UNSET, name="to")
    step: Step | UnsetType = UNSET
    group_by: GroupBy = "tenant"
    tenant_id: Id | UnsetType = UNSET


class SpendPoint(msgspec.Struct):
    start: Timestamp
    cost_usd: str
    requests: int
    unknown: int


class SpendSeries(msgspec.Struct):
    group: str
    label: str
    cost_usd: str
    requests: int
    unknown: int  # requests whose cost is unknown (no price for their model)
    estimated: int  # requests priced from estimated usage
    points: list[SpendPoint]


class SpendReport(msgspec.Struct):
    since: Timestamp = msgspec.field(name="from")
    until: Timestamp = msgspec.field(name="to")
    step_s: int
    group_by: GroupBy
    currency: str
    total_usd: str
    requests: int
    unknown: int
    total: list[SpendPoint]
    series: list[SpendSeries]
    rows: int
    truncated: bool


@dataclass(slots=True)
class Tally:
    cost: int = 0
    requests: int = 0
    unknown: int = 0
    estimated: int = 0

    def add(self, cost: int | None, estimated: bool) -> None:
        self.requests += 1
        if cost is None:
            self.unknown += 1
        else:
            self.cost += cost
        self.estimated += bool(estimated)


def _points(tallies: list[Tally], starts: list[dt.datetime]) -> list[SpendPoint]:
    return [
        SpendPoint(start, usd_text(t.cost) or "0.00", t.requests, t.unknown)
        for t, start in zip(tallies, starts, strict=True)
    ]


async def _pages(span: Window, tenant_id: int | UnsetType) -> AsyncIterator[list[tuple[Any, ...]]]:
    base = RequestLog.filter(created_at__gte=span.start, created_at__lt=span.end)
    if tenant_id is not UNSET:
        base = base.filter(tenant_id=tenant_id)
    read, queryset = 0, base
    while read <= MAX_ROWS:
        size = min(PAGE_ROWS, MAX_ROWS + 1 - read)
        page = await queryset.order_by("-created_at", "-id").limit(size).values_list(*COLUMNS)
        if not page:
            return
        yield page
        read += len(page)
        if len(page) < size:
            return
        last_id, last_at = page[-1][0], page[-1][1]
        queryset = base.filter(Q(created_at__lt=last_at) | Q(created_at=last_at, id__lt=last_id))


async def _labels(group_by: str, groups: list[str]) -> dict[str, str]:
    ids = [int(g) for g in groups if g.isdigit()]
    if group_by == "tenant" and ids:
        return {str(t.id): t.name for t in await Tenant.filter(id__in=ids)}
    if group_by == "key" and ids:
        return {
            str(k.id): f"{k.name or k.prefix} ({k.prefix}…)"
            for k in await ApiKey.filter(id__in=ids)
        }
    return {}


async def read_spend(call: Call) -> SpendReport:
    query: SpendQuery = call.query
    span = window(query, dt.datetime.now(dt.UTC))  # type: ignore[arg-type]
    column = _GROUP_COLUMN[query.group_by]
    total = [Tally() for _ in range(span.buckets)]
    sums: dict[str, Tally] = {}
    series: dict[str, list[Tally]] = {}
    rows = 0
    truncated = False
    async for page in _pages(span, query.tenant_id):
        for row in page:
            if rows == MAX_ROWS:
                truncated = True
                break
            rows += 1
            index = min(max(span.index(as_utc(row[1])), 0), span.buckets - 1)
            cost, estimated = row[7], row[8]
            group = "" if row[column] is None else str(row[column])
            total[index].add(cost, estimated)
            sums.setdefault(group, Tally()).add(cost, estimated)
            series.setdefault(group, [Tally() for _ in total])[index].add(cost, estimated)
    ranked = sorted(sums, key=lambda g: (-sums[g].cost, -sums[g].requests, g))
    top, rest = ranked[:TOP], ranked[TOP:]
    if rest:
        other = [Tally() for _ in total]
        other_sum = Tally()
        for group in rest:
            for mine, theirs in zip(other, series[group], strict=True):
                _merge(mine, theirs)
            _merge(other_sum, sums[group])
        series["(other)"], sums["(other)"] = other, other_sum
        top.append("(other)")
    labels = await _labels(query.group_by, top)
    starts = span.starts()
    grand = Tally()
    for tally in total:
        _merge(grand, tally)
    return SpendReport(
        span.start,
        span.end,
        int(span.step.total_seconds()),
        query.group_by,
        "USD",
        usd_text(grand.cost) or "0.00",
        grand.requests,
        grand.unknown,
        _points(total, starts),
        [
            SpendSeries(
                group,
                labels.get(group, group or "(none)"),
                usd_text(sums[group].cost) or "0.00",
                sums[group].requests,
                sums[group].unknown,
                sums[group].estimated,
                _points(series[group], starts),
            )
            for group in top
        ],
        rows,
        truncated,
    )


def _merge(into: Tally, other: Tally) -> None:
    into.cost += other.cost
    into.requests += other.requests
    into.unknown += other.unknown
    into.estimated += other.estimated
