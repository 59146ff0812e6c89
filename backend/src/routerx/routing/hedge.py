"""`hedge_delay_ms: "auto"`: hedge after the primary's measured p95 time to first token, so that
only real stragglers are hedged, bounded to [AUTO_MIN_MS, AUTO_MAX_MS]. Until the primary has
MIN_SAMPLES measurements the delay is the upper bound."""

from __future__ import annotations

import dataclasses

from routerx.routing.latency import LatencyTracker
from routerx.routing.rules import RoutePlan

AUTO_MIN_MS = 50
AUTO_MAX_MS = 10_000
MIN_SAMPLES = 20
PERCENTILE = 0.95


def auto_hedge_delay_ms(plan: RoutePlan, tracker: LatencyTracker) -> int:
    primary = plan.targets[0]
    measured = tracker.percentile_ms(primary.provider.name, primary.model, PERCENTILE, MIN_SAMPLES)
    if measured is None:
        return AUTO_MAX_MS
    return max(AUTO_MIN_MS, min(AUTO_MAX_MS, round(measured)))


def with_auto_hedge(plan: RoutePlan, tracker: LatencyTracker) -> RoutePlan:
    """The plan with its rule's hedge delay resolved, when the rule asks for `auto`."""
    if not plan.rule.hedge_delay_auto or not plan.targets:
        return plan
    delay = auto_hedge_delay_ms(plan, tracker)
    rule = dataclasses.replace(plan.rule, hedge_delay_ms=delay)
    return dataclasses.replace(plan, rule=rule, reason=f"{plan.reason}, hedge after {delay} ms")
