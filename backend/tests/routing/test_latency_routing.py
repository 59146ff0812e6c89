"""Latency-aware balancing, the automatic hedge delay and context-window fitting, in-process:
measurements with an injected clock, plans from plan_route with a seeded random source."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from routerx.core.snapshot import ConfigSnapshot, RuleEntry, Target, TenantEntry
from routerx.providers.base import ProviderConfig
from routerx.providers.error_detail import CONTEXT_LENGTH_EXCEEDED
from routerx.routing.capabilities import Needs
from routerx.routing.context_window import (
    SKIPPED,
    ContextTooLong,
    context_window,
    fitting_plan,
    larger_window_plan,
)
from routerx.routing.hedge import AUTO_MAX_MS, AUTO_MIN_MS, MIN_SAMPLES, with_auto_hedge
from routerx.routing.latency import STALE_S, LatencyTracker, latency_order
from routerx.routing.rules import plan_route

TENANT = TenantEntry(1, "acme", True, frozenset())
TEXT = Needs("text", frozenset({"text"}))


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def snapshot(
    balancing: str = "latency",
    hedge_auto: bool = False,
    windows: dict[str, int] | None = None,
    names: tuple[str, ...] = ("fast", "slow"),
) -> ConfigSnapshot:
    providers = {
        name: ProviderConfig(
            i, name, "openai", settings={"context_windows": windows} if windows else {}
        )
        for i, name in enumerate(names, 1)
    }
    rule = RuleEntry(
        1,
        "chat",
        "chat-model",
        "text",
        None,
        (tuple(Target(name, f"{name}-model", 1, 0) for name in names),),
        hedge_delay_auto=hedge_auto,
        balancing=balancing,
    )
    return ConfigSnapshot(1, providers=providers, rules=(rule,))


def test_unmeasured_targets_go_first_then_the_fastest() -> None:
    tracker = LatencyTracker(Clock())
    keys = [("a", "m"), ("b", "m"), ("c", "m")]
    tracker.observe("a", "m", 300)
    tracker.observe("c", "m", 50)

    order = latency_order(keys, tracker, random.Random(1))

    assert [keys[i][0] for i, _ in order] == ["b", "c", "a"]
    assert order[0][1].startswith("latency: not measured")
    assert order[1][1] == "latency: slower (avg 50 ms)"


def test_the_average_decays_towards_recent_samples_and_goes_stale() -> None:
    clock = Clock()
    tracker = LatencyTracker(clock)
    tracker.observe("a", "m", 1000)
    for _ in range(10):
        tracker.observe("a", "m", 100)
    average = tracker.average_ms("a", "m")
    assert average is not None and average < 130

    clock.now += STALE_S + 1
    assert tracker.average_ms("a", "m") is None  # to be measured again


def test_latency_balancing_moves_load_off_a_slow_target_within_a_few_requests() -> None:
    clock = Clock()
    tracker = LatencyTracker(clock)
    config = snapshot()
    rng = random.Random(7)
    first: Counter[str] = Counter()
    speeds = {"fast": 40.0, "slow": 900.0}
    for request in range(200):
        plan = plan_route(config, "chat-model", TENANT, TEXT, rng, tracker)
        chosen = plan.targets[0]
        tracker.observe(chosen.provider.name, chosen.model, speeds[chosen.provider.name])
        if request >= 2:
            first[chosen.provider.name] += 1
        clock.now += 0.05

    # from the third request on, the slow target is first only when explored (about 1 in 20)
    assert first["slow"] <= 25 and first["fast"] >= 175
    assert first["slow"] >= 1  # but it is still seen now and then


def test_the_route_reason_is_on_each_latency_planned_target() -> None:
    tracker = LatencyTracker(Clock())
    tracker.observe("fast", "fast-model", 40)
    tracker.observe("slow", "slow-model", 900)
    rng = random.Random(3)

    reasons = {
        plan_route(snapshot(), "chat-model", TENANT, TEXT, rng, tracker).targets[0].why
        for _ in range(50)
    }

    assert "latency: fastest (avg 40 ms)" in reasons
    weighted = plan_route(snapshot("weighted"), "chat-model", TENANT, TEXT, rng, tracker)
    assert all(target.why == "" for target in weighted.targets)


def test_auto_hedge_delay_is_the_primarys_p95_bounded() -> None:
    tracker = LatencyTracker(Clock())
    config = snapshot("weighted", hedge_auto=True, names=("fast",))
    plan = plan_route(config, "chat-model", TENANT, TEXT, random.Random(1), tracker)
    assert with_auto_hedge(plan, tracker).rule.hedge_delay_ms == AUTO_MAX_MS  # not measured

    for sample in range(1, 101):  # 1..100 ms: p95 is 95 ms
        tracker.observe("fast", "fast-model", float(sample))
    hedged = with_auto_hedge(plan, tracker)
    assert hedged.rule.hedge_delay_ms == 95
    assert hedged.reason.endswith("hedge after 95 ms")

    fast = LatencyTracker(Clock())
    for _ in range(MIN_SAMPLES):
        fast.observe("fast", "fast-model", 1.0)
    assert with_auto_hedge(plan, fast).rule.hedge_delay_ms == AUTO_MIN_MS
    fixed = plan_route(snapshot("weighted"), "chat-model", TENANT, TEXT, random.Random(1))
    assert with_auto_hedge(fixed, tracker) is fixed  # a rule without auto is left alone


def test_targets_too_small_are_skipped_and_none_fitting_is_refused() -> None:
    windows = {"fast-model": 1_000, "slow-model": 100_000}
    plan = plan_route(
        snapshot("weighted", windows=windows), "chat-model", TENANT, TEXT, random.Random(1)
    )
    attempts: list = []  # type: ignore[type-arg]

    fitted = fitting_plan(plan, 5_000, attempts)

    assert [t.provider.name for t in fitted.targets] == ["slow"]
    assert [(a.provider, a.outcome) for a in attempts] == [("fast", SKIPPED)]
    assert fitting_plan(plan, 900, []) is plan
    with pytest.raises(ContextTooLong, match=r"largest context window .* is 100000 tokens"):
        fitting_plan(plan, 200_000, [])


def test_unknown_windows_fit_and_the_catalog_is_used() -> None:
    unknown = ProviderConfig(1, "p", "openai")
    assert context_window(unknown, "no-such-model-anywhere") is None
    catalogued = context_window(unknown, "gpt-4.1-mini")
    assert catalogued is not None and catalogued > 100_000
    override = ProviderConfig(1, "p", "openai", settings={"context_windows": {"gpt-4.1-mini": 9}})
    assert context_window(override, "gpt-4.1-mini") == 9


def test_an_upstream_refusal_moves_to_a_larger_window() -> None:
    windows = {"a-model": 8_000, "b-model": 4_000, "c-model": 128_000}
    config = snapshot("weighted", windows=windows, names=("a", "b", "c"))
    plan = plan_route(config, "chat-model", TENANT, TEXT, random.Random(1))
    first = plan.targets[0]

    larger = larger_window_plan(plan, first, CONTEXT_LENGTH_EXCEEDED)

    floor = windows[first.model]
    assert larger is not None and larger.targets
    assert all(windows[t.model] > floor for t in larger.targets)
    assert larger_window_plan(plan, first, "invalid_value") is None
    biggest = next(t for t in plan.targets if t.model == "c-model")
    assert larger_window_plan(plan, biggest, CONTEXT_LENGTH_EXCEEDED) is None
