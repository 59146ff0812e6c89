"""Cost per attempt and per request, from what each upstream answer consumed.

A failed attempt the upstream did not answer costs 0. Every answer that came back is priced
with its own usage: the winner, each piece of a rescued stream (the one cut mid-stream and its
continuation), a stream the client left, and a hedge that lost the race after it had started
(each priced with what it consumed, marked estimated when its usage had to be estimated).
"""

from __future__ import annotations

from dataclasses import dataclass

from routerx.core.log_row import LogRow
from routerx.spend.cost import cost_of
from routerx.spend.prices import PriceBook
from routerx.wire.openai import Usage

# Attempt outcomes whose upstream answered (in part): each has a Billed entry, unless it is a
# cancellation that never got an answer, which costs nothing.
ANSWERING_OUTCOMES = frozenset({"success", "rescued", "interrupted", "cancelled"})


@dataclass(slots=True)
class Billed:
    """One upstream answer that consumed tokens."""

    provider: str
    model: str
    usage: Usage | None  # None: the answer reported no usage (its cost is unknown)
    estimated: bool = False


def price_attempts(row: LogRow, billed: list[Billed], book: PriceBook) -> None:
    """Set each attempt's cost and the request's total (None when any price is unknown)."""
    unused = list(billed)
    total: int | None = 0
    estimated = False
    for attempt in row.attempts:
        cost: int | None = 0
        if attempt.outcome in ANSWERING_OUTCOMES:
            match = next(
                (b for b in unused if b.provider == attempt.provider and b.model == attempt.model),
                None,
            )
            if match is None:
                # Answered, but what it consumed never reached us (a cancellation that had no
                # answer yet consumed nothing).
                cost = 0 if attempt.outcome == "cancelled" else None
            else:
                unused.remove(match)
                rates = book.rates(match.provider, match.model)
                cost = None if match.usage is None else cost_of(match.usage, rates)
                attempt.cost_estimated = match.estimated
                estimated = estimated or match.estimated
        attempt.cost_picousd = cost
        total = None if total is None or cost is None else total + cost
    row.cost_picousd = total
    row.cost_estimated = estimated
