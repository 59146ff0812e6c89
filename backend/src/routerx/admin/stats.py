"""Chart data from the request log: per time bucket, in total and per provider.

Percentiles are computed in Python over the selected rows, which works alike on PostgreSQL and
SQLite. A request stays bounded three ways: the range is at most 31 days, a series has at most
MAX_BUCKETS buckets, and at most MAX_ROWS rows are read, newest first, in keyset pages of only
the numeric columns. When the range holds more rows, the answer says `truncated: true` and
`complete_from`, the time from which its buckets are exact.

A request counts for the provider that finally answered it; one no provider answered (refused,
rate-limited, or every target failed) counts on the `no_provider` line.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, UnsetType
from tortoise.expressions import Q

from routerx.admin.endpoint import Call
from routerx.admin.errors import invalid
from routerx.admin.outcomes import (
    CLIENT_ERROR_OUTCOMES,
    Outcome,
    OutcomeCounts,
    TenantOutcomes,
    outcome_of,
    tenant_outcomes,
)
from routerx.admin.pagination import Id, Timestamp, as_utc
from routerx.storage.models import RequestLog

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MAX_RANGE = dt.timedelta(days=31)
MAX_BUCKETS = 500
MAX_ROWS = 100_000
PAGE_ROWS = 5_000
DEFAULT_RANGE = dt.timedelta(hours=1)
DEFAULT_BUCKETS = 60
MIN_STEP_S = 10
COLUMNS = (
    "id",
    "created_at",
    "provider",
    "status",
    "fallback",
    "latency_ms",
    "ttft_ms",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "error_type",
    "tenant_id",
)

Step = Annotated[int, msgspec.Meta(ge=MIN_STEP_S, le=86_400, description="Bucket size, s.")]


class StatsQuery(msgspec.Struct, kw_only=True):
    since: Timestamp | UnsetType = msgspec.field(default=UNSET, name="from")
    until: Timestamp | UnsetType = msgspec.field(default=UNSET, name="to")
    step: Step | UnsetType = UNSET
    tenant_id: Id | UnsetType = UNSET


class StatsPoint(msgspec.Struct):
    start: Timestamp
    requests: int
    errors: int
    client_errors: int
    rate_limited: int
    interrupted: int
    error_rate: float
    fallbacks: int
    p50_latency_ms: float | None
    p95_latency_ms: float | None
    p50_ttft_ms: float | None
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class StatsReport(msgspec.Struct):
    """`errors` are 5xx answers, `client_errors` 4xx (of which `rate_limited` are 429s),
    `interrupted` streams cut after they started; `error_rate` = (errors + interrupted) /
    requests. `fallbacks` are requests served by a non-primary target. `outcomes` and `tenants`
    count the whole range by outcome, overall and per tenant."""

    since: Timestamp = msgspec.field(name="from")
    until: Timestamp = msgspec.field(name="to")
    step_s: int
    total: list[StatsPoint]
    providers: dict[str, list[StatsPoint]]
    no_provider: list[StatsPoint]
    outcomes: OutcomeCounts
    tenants: list[TenantOutcomes]
    rows: int
    truncated: bool
    complete_from: Timestamp


@dataclass(slots=True)
class Bucket:
    requests: int = 0
    errors: int = 0
    client_errors: int = 0
    rate_limited: int = 0
    interrupted: int = 0
    fallbacks: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    latencies: list[float] = field(default_factory=list)
    ttfts: list[float] = field(default_factory=list)

    def add(self, row: tuple[Any, ...], outcome: Outcome) -> None:
        _id, _at, _provider, _status, _fallback, latency, ttft, prompt, completion, total = row[:10]
        self.requests += 1
        self.errors += outcome is Outcome.FAILED
        self.client_errors += outcome in CLIENT_ERROR_OUTCOMES
        self.rate_limited += outcome is Outcome.RATE_LIMITED
        self.interrupted += outcome is Outcome.INTERRUPTED
        self.fallbacks += outcome is Outcome.FALLBACK
        self.prompt_tokens += prompt or 0
        self.completion_tokens += completion or 0
        self.total_tokens += total or 0
        self.latencies.append(float(latency or 0))
        if ttft is not None:
            self.ttfts.append(float(ttft))

    def point(self, start: dt.datetime) -> StatsPoint:
        return StatsPoint(
            start,
            self.requests,
            self.errors,
            self.client_errors,
            self.rate_limited,
            self.interrupted,
            round((self.errors + self.interrupted) / self.requests, 6) if self.requests else 0.0,
            self.fallbacks,
            percentile(self.latencies, 0.50),
            percentile(self.latencies, 0.95),
            percentile(self.ttfts, 0.50),
            self.prompt_tokens,
            self.completion_tokens,
            self.total_tokens,
        )


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile; None for an empty bucket."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(fraction * len(ordered)) - 1)], 3)


@dataclass(frozen=True, slots=True)
class Window:
    start: dt.datetime
    end: dt.datetime
    step: dt.timedelta

    @property
    def buckets(self) -> int:
        return math.ceil((self.end - self.start) / self.step)

    def index(self, moment: dt.datetime) -> int:
        return int((moment - self.start) // self.step)

    def starts(self) -> list[dt.datetime]:
        return [self.start + i * self.step for i in range(self.buckets)]


def window(query: StatsQuery, now: dt.datetime) -> Window:
    try:
        return _window(query, now)
    except OverflowError:
        raise invalid("The time range is out of range.", "from") from None


def _window(query: StatsQuery, now: dt.datetime) -> Window:
    end = as_utc(query.until, "to") if query.until is not UNSET else now
    start = as_utc(query.since, "from") if query.since is not UNSET else end - DEFAULT_RANGE
    if start >= end:
        raise invalid("`from` must be before `to`.", "from")
    if end - start > MAX_RANGE:
        raise invalid(f"The range may span at most {MAX_RANGE.days} days.", "from")
    if query.step is not UNSET:
        step = dt.timedelta(seconds=query.step)
    else:
        seconds = math.ceil((end - start).total_seconds() / DEFAULT_BUCKETS)
        step = dt.timedelta(seconds=max(MIN_STEP_S, seconds))
    # Bucket starts are whole multiples of the step since the epoch, so charts line up.
    start = EPOCH + ((start - EPOCH) // step) * step
    result = Window(start, end, step)
    if result.buckets > MAX_BUCKETS:
        raise invalid(
            f"That step makes {result.buckets} buckets; at most {MAX_BUCKETS} are allowed.",
            "step",
        )
    return result


async def _pages(span: Window, tenant_id: int | UnsetType) -> AsyncIterator[list[tuple[Any, ...]]]:
    """Rows in the window, newest first, in keyset pages on (created_at, id); MAX_ROWS + 1 at
    most, the one extra telling that the range holds more."""
    base = RequestLog.filter(created_at__gte=span.start, created_at__lt=span.end)
    if tenant_id is not UNSET:
        base = base.filter(tenant_id=tenant_id)
    read = 0
    queryset = base
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


async def read_stats(call: Call) -> StatsReport:
    query: StatsQuery = call.query
    span = window(query, dt.datetime.now(dt.UTC))
    total = [Bucket() for _ in range(span.buckets)]
    per_provider: dict[str, list[Bucket]] = {}
    no_provider = [Bucket() for _ in total]
    overall = OutcomeCounts()
    per_tenant: dict[int | None, OutcomeCounts] = {}
    rows = 0
    complete_from = span.start
    async for page in _pages(span, query.tenant_id):
        for row in page:
            index = min(max(span.index(as_utc(row[1])), 0), span.buckets - 1)
            if rows == MAX_ROWS:
                # Rows of this bucket and older were not all read.
                complete_from = span.start + (index + 1) * span.step
                break
            rows += 1
            outcome = outcome_of(row[3], row[10], bool(row[4]))
            overall.add(outcome)
            tenant_id = row[11]
            per_tenant.setdefault(tenant_id, OutcomeCounts()).add(outcome)
            total[index].add(row, outcome)
            if row[2]:
                buckets = per_provider.setdefault(row[2], [Bucket() for _ in total])
            else:
                buckets = no_provider
            buckets[index].add(row, outcome)
    starts = span.starts()
    return StatsReport(
        span.start,
        span.end,
        int(span.step.total_seconds()),
        [bucket.point(start) for bucket, start in zip(total, starts, strict=True)],
        {
            name: [bucket.point(start) for bucket, start in zip(buckets, starts, strict=True)]
            for name, buckets in sorted(per_provider.items())
        },
        [bucket.point(start) for bucket, start in zip(no_provider, starts, strict=True)],
        overall,
        tenant_outcomes(per_tenant),
        rows,
        complete_from > span.start,
        complete_from,
    )
