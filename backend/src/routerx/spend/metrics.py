"""Cost metrics: USD per provider and model (no tenant label: cardinality), and the answers
whose price is unknown."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter

from routerx.core.log_row import LogRow
from routerx.spend.money import PICO_PER_USD
from routerx.spend.prices import PriceBook

COST_USD = Counter(
    "routerx_cost_usd",
    "Upstream cost in USD by provider and upstream model (priced models only).",
    ["provider", "model"],
)
COST_UNKNOWN = Counter(
    "routerx_cost_unknown",
    "Upstream answers whose cost is unknown (no price for the model).",
    ["provider"],
)
COST_ESTIMATED = Counter(
    "routerx_cost_estimated",
    "Upstream answers priced from estimated usage (a stream cut before its usage).",
    ["provider"],
)
_children: dict[tuple[Any, ...], Any] = {}


def _child(metric: Counter, *labels: str) -> Any:
    key = (metric, *labels)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*labels)
    return child


def observe_cost(row: LogRow, book: PriceBook) -> None:
    for attempt in row.attempts:
        if attempt.outcome != "success":
            continue
        cost = attempt.cost_picousd
        if cost is None:
            # The model of an unpriced answer may be any name a client sent: not a label.
            _child(COST_UNKNOWN, attempt.provider).inc()
            continue
        if attempt.cost_estimated:
            _child(COST_ESTIMATED, attempt.provider).inc()
        if cost:
            rates = book.rates(attempt.provider, attempt.model)
            model = rates.name if rates is not None and rates.name else attempt.model
            _child(COST_USD, attempt.provider, model).inc(cost / PICO_PER_USD)
