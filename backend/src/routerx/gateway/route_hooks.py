"""The routing stages the pipeline adds around planning and attempts: the automatic hedge delay,
context-window fitting, latency measurement and the route-reason header."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from routerx.core.log_row import Attempt
from routerx.gateway import errors
from routerx.providers.error_detail import CONTEXT_LENGTH_EXCEEDED
from routerx.routing.attempt import TargetAttempt
from routerx.routing.context_window import ContextTooLong, fitting_plan
from routerx.routing.hedge import with_auto_hedge
from routerx.routing.latency import LatencyTracker, timed
from routerx.routing.rules import PlannedTarget, RoutePlan

T = TypeVar("T")
ROUTE_REASON_HEADER = b"x-routerx-route-reason"


def planned(
    plan: RoutePlan,
    latency: LatencyTracker,
    needed_tokens: int | None,
    attempts: list[Attempt],
) -> RoutePlan:
    """The plan with `hedge_delay_ms: auto` resolved and the targets too small for
    `needed_tokens` left out (None: the operation has no context window to check)."""
    plan = with_auto_hedge(plan, latency)
    if needed_tokens is None:
        return plan
    try:
        return fitting_plan(plan, needed_tokens, attempts)
    except ContextTooLong as too_long:
        raise errors.invalid_request(
            too_long.message, "messages", CONTEXT_LENGTH_EXCEEDED
        ) from None


def _target_key(attempt: TargetAttempt) -> tuple[str, str]:
    return attempt.target.provider.name, attempt.target.model


def measured(
    latency: LatencyTracker, perform: Callable[[TargetAttempt], Awaitable[T]]
) -> Callable[[TargetAttempt], Awaitable[T]]:
    return timed(latency, perform, _target_key)


def route_reason(target: PlannedTarget, attempts: list[Attempt]) -> list[tuple[bytes, bytes]]:
    """Why the answering target was chosen: on its attempt in the log and as a header."""
    if not target.why:
        return []
    for attempt in reversed(attempts):
        if attempt.provider == target.provider.name and attempt.model == target.model:
            attempt.reason = target.why
            break
    return [(ROUTE_REASON_HEADER, target.why.encode())]
