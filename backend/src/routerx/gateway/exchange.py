"""One request's record while it is served: what its headers and its log row will say."""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import secrets
import time
from dataclasses import dataclass, field

from starlette.types import Scope

from routerx.core.log_row import LogRow
from routerx.gateway.admission import Admission
from routerx.gateway.asgi_io import Headers, header
from routerx.limits import Reservation
from routerx.limits.concurrency import ConcurrencySlot
from routerx.routing.rules import PlannedTarget, RoutePlan
from routerx.spend.attempt_costs import Billed
from routerx.spend.budget_hold import BudgetHold
from routerx.spend.money import usd_text
from routerx.spend.usage_details import record_usage_details
from routerx.wire.openai import Usage

log = logging.getLogger("routerx.gateway")
REQUEST_ID = re.compile(rb"^[A-Za-z0-9._\-]{1,64}$")


# A random per-process prefix and a counter: unique across processes, cheaper than uuid4.
_ID_PREFIX = secrets.token_hex(8)
_id_counter = itertools.count(1)


def request_id_of(scope: Scope) -> str:
    """RouterX's own id for a request, always issued here: a client's `x-request-id` could
    otherwise name (and shadow, in logs and the console) another tenant's request."""
    return f"{_ID_PREFIX}{next(_id_counter):08x}"


def client_request_id_of(scope: Scope) -> str | None:
    """The client's own `x-request-id`, kept beside RouterX's id when it is a plain token."""
    given = header(scope, b"x-request-id")
    if given is not None and REQUEST_ID.match(given):
        return given.decode()
    return None


@dataclass(slots=True)
class Exchange:
    """One request's progress: what the response headers and the log row will say."""

    request_id: str
    started: float
    row: LogRow
    response_headers: Headers = field(default_factory=list)
    watcher: asyncio.Task[None] | None = None
    model_label: str = ""  # the routing rule's configured pattern: safe as a metric label
    reservation: Reservation | None = None
    admission: Admission | None = None
    slot: ConcurrencySlot | None = None
    billed: list[Billed] = field(default_factory=list)  # every answer that consumed tokens
    usage_estimated: bool = False  # a stream cut before its upstream reported usage
    budget_hold: BudgetHold | None = None

    def elapsed_ms(self) -> float:
        return round((time.perf_counter() - self.started) * 1000, 3)

    def record_usage(self, usage: Usage | None) -> None:
        if usage is not None:
            self.row.prompt_tokens = usage.prompt_tokens
            self.row.completion_tokens = usage.completion_tokens
            self.row.total_tokens = usage.total_tokens
            record_usage_details(self.row, usage)


def answered_by(exchange: Exchange, target: PlannedTarget, plan: RoutePlan) -> None:
    """A fallback is an answer from anyone but the plan's primary (failed, open or outraced)."""
    row = exchange.row
    row.provider, row.upstream_model = target.provider.name, target.model
    row.fallback = target.provider.name != plan.targets[0].provider.name
    exchange.response_headers.append((b"x-routerx-provider", target.provider.name.encode()))
    # The answer's `model` names the upstream model that answered; this, what was asked for.
    if row.model.isascii():
        exchange.response_headers.append((b"x-routerx-requested-model", row.model.encode()))


def log_request(row: LogRow, model_label: str) -> None:
    if log.isEnabledFor(logging.INFO):
        log.info(
            "request",
            extra={
                "request_id": row.request_id,
                "tenant_id": row.tenant_id,
                "key_id": row.key_id,
                "model": model_label,
                "provider": row.provider,
                "status": row.status,
                "stream": row.stream,
                "latency_ms": row.latency_ms,
                "ttft_ms": row.ttft_ms,
                "attempts": len(row.attempts),
                "fallback": row.fallback,
                "total_tokens": row.total_tokens,
                "cost_usd": usd_text(row.cost_picousd),
                "cost_estimated": row.cost_estimated,
                "error_type": row.error_type,
                "trace_id": row.trace_id,
            },
        )
