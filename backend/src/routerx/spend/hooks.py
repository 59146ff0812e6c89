"""What the pipeline hands the spend stage: estimates before the call, answers after it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from routerx.routing.rules import PlannedTarget
from routerx.spend.attempt_costs import Billed
from routerx.spend.money import usd_text
from routerx.wire.openai import ChatRequest, Usage
from routerx.wire.tokens import estimate_prompt_tokens

if TYPE_CHECKING:
    from routerx.gateway.exchange import Exchange
    from routerx.gateway.fronts.base import Canonical
    from routerx.gateway.operations import StreamingOperation
    from routerx.routing.attempt import StreamStart
    from routerx.spend.service import SpendService

COST_HEADER = b"x-routerx-cost-usd"


def spend_estimate(canonical: Canonical) -> tuple[int, int | None]:
    """(estimated prompt tokens, the request's output cap or None) for the worst case."""
    request = canonical.request
    if isinstance(request, ChatRequest):
        return estimate_prompt_tokens(request), request.output_token_cap
    return sum(request.input_tokens()), 0


def answer_billed(target: PlannedTarget, usage: Usage | None) -> Billed:
    return Billed(target.provider.name, target.model, usage)


def stream_billed(
    start: StreamStart,
    operation: StreamingOperation,
    canonical: Canonical,
    estimated: bool = False,
) -> Billed:
    """A stream's consumption: its reported usage, else an estimate from what it relayed."""
    target, usage = start.attempt.target, start.stats.usage
    if usage is None:
        usage, estimated = operation.cut_usage(canonical, start.stats.chunks), True
    return Billed(target.provider.name, target.model, usage, estimated)


def cost_header(spend: SpendService, exchange: Exchange) -> tuple[bytes, bytes]:
    """The request's cost so far (a non-stream answer is complete here): USD or "unknown"."""
    row = exchange.row
    spend.price(row, exchange.billed)
    return COST_HEADER, (usd_text(row.cost_picousd) or "unknown").encode()
