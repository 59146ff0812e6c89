"""The fallback loop's less travelled paths, each pinned by a test that fails when the code is
wrong: breaker outcomes reaching the breaker (a success closes, a Retry-After lengthens the open
period), the request deadline, the wait reported when every target is open, and hedging's
error paths (a client 4xx, a cancelled request, a finished loser)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from routerx.core.clock import FakeClock
from routerx.core.log_row import Attempt
from routerx.core.snapshot import RuleEntry
from routerx.providers.base import ProviderConfig
from routerx.providers.errors import FailureKind, RequestRejected, UpstreamError
from routerx.routing import fallback
from routerx.routing.attempt import ClientError, TargetAttempt
from routerx.routing.breaker import BreakerState
from routerx.routing.breaker_gate import ProviderBreakers
from routerx.routing.breaker_registry import BreakerRegistry
from routerx.routing.fallback import FallbackExhausted, FallbackRun, RetryPolicy
from routerx.routing.rules import PlannedTarget, RoutePlan
from routerx.routing.same_target import FAIL_OVER

Behaviour = Callable[[], Awaitable[str]]
FAST = RetryPolicy(max_attempts=3, backoff_base_s=0.001, backoff_max_s=0.002)


def planned(names: tuple[str, ...], breaker: dict[str, Any]) -> tuple[PlannedTarget, ...]:
    return tuple(
        PlannedTarget(
            ProviderConfig(id=i, name=n, type="mock", settings={"breaker": breaker}), f"m-{n}", i, 1
        )
        for i, n in enumerate(names)
    )


class Harness:
    """Fallback runs over the same targets and breakers, on a clock the test moves."""

    def __init__(
        self,
        *names: str,
        hedge_ms: int | None = None,
        on_transient: str = FAIL_OVER,
        **breaker: Any,
    ) -> None:
        self.clock = FakeClock()
        self.breakers = ProviderBreakers(BreakerRegistry(clock=self.clock, rng=lambda: 0.5))
        self.targets = planned(names, breaker)
        self.breakers.configure({t.provider.name: t.provider for t in self.targets})
        self.rule = RuleEntry(1, "r", "m", "text", None, (), hedge_ms, on_transient=on_transient)

    def run(self, policy: RetryPolicy = FAST) -> FallbackRun:
        plan = RoutePlan(self.rule, self.targets, "test")
        return FallbackRun(plan, self.breakers, policy, [], random.Random(1))

    def breaker_of(self, name: str) -> str:
        """The breaker key of provider `name`'s target (one breaker per provider and model)."""
        return next(t.breaker for t in self.targets if t.provider.name == name)

    def state(self, name: str) -> BreakerState:
        view = self.breakers.view(self.breaker_of(name))
        return BreakerState.CLOSED if view is None else view.state

    def open_for(self, name: str) -> float:
        view = self.breakers.view(self.breaker_of(name))
        assert view is not None and view.open_until is not None
        return view.open_until - self.clock.time()


def scripted(behaviours: dict[str, list[Behaviour]]) -> Callable[[TargetAttempt], Awaitable[str]]:
    async def attempt(target_attempt: TargetAttempt) -> str:
        return await behaviours[target_attempt.target.provider.name].pop(0)()

    return attempt


def ok(text: str) -> Behaviour:
    async def answer() -> str:
        return text

    return answer


def fail(status: int | None = 500, retry_after: float | None = None) -> Behaviour:
    async def answer() -> str:
        kind = FailureKind.HTTP if status else FailureKind.CONNECT
        raise UpstreamError("boom", kind=kind, status=status, retry_after_s=retry_after)

    return answer


def waits_for(event: asyncio.Event, then: Behaviour) -> Behaviour:
    async def answer() -> str:
        await event.wait()
        return await then()

    return answer


def outcomes(attempts: list[Attempt]) -> list[tuple[str, str, bool]]:
    return [(a.provider, a.outcome, a.hedged) for a in attempts]


async def test_a_successful_probe_through_the_loop_closes_the_breaker() -> None:
    harness = Harness("a", consecutive_failures=1, open_s=10, max_open_s=10, half_open_probes=1)
    with pytest.raises(FallbackExhausted):
        await harness.run(RetryPolicy(max_attempts=1)).run(scripted({"a": [fail()]}))
    assert harness.state("a") is BreakerState.OPEN
    harness.clock.advance(10.5)
    run = harness.run()
    result, _ = await run.run(scripted({"a": [ok("probe")]}))
    assert result == "probe"
    assert [(a.outcome, a.breaker_state) for a in run.attempts] == [("success", "half_open")]
    assert harness.state("a") is BreakerState.CLOSED


async def test_the_upstreams_retry_after_reaches_the_breaker() -> None:
    harness = Harness("a", "b", consecutive_failures=1, open_s=5, max_open_s=5, jitter=0.0)
    result, _ = await harness.run().run(scripted({"a": [fail(503, 120)], "b": [ok("from b")]}))
    assert result == "from b"
    assert harness.state("a") is BreakerState.OPEN
    assert harness.open_for("a") == pytest.approx(120)


async def test_a_client_error_is_neutral_to_a_half_open_breaker() -> None:
    harness = Harness("a", consecutive_failures=1, open_s=10, max_open_s=10, half_open_probes=1)
    with pytest.raises(FallbackExhausted):
        await harness.run(RetryPolicy(max_attempts=1)).run(scripted({"a": [fail()]}))
    harness.clock.advance(10.5)
    with pytest.raises(ClientError):
        await harness.run().run(scripted({"a": [fail(400)]}))
    assert harness.state("a") is BreakerState.HALF_OPEN
    result, _ = await harness.run().run(scripted({"a": [ok("probe")]}))  # the probe slot is free
    assert result == "probe" and harness.state("a") is BreakerState.CLOSED


async def test_every_target_open_reports_the_shortest_wait() -> None:
    harness = Harness("a", "b", consecutive_failures=1, open_s=30, max_open_s=300, jitter=0.0)
    await harness.run().run(scripted({"a": [fail(503, 200)], "b": [ok("b")]}))
    with pytest.raises(FallbackExhausted):  # a is open and skipped, b fails and opens
        await harness.run().run(scripted({"a": [], "b": [fail(503, 40)]}))
    harness.clock.advance(10)
    run = harness.run()
    with pytest.raises(FallbackExhausted) as exhausted:
        await run.run(scripted({"a": [], "b": []}))
    assert exhausted.value.last_error is None
    assert exhausted.value.retry_after_s == pytest.approx(30)  # b: 40 s, 10 s ago
    assert outcomes(run.attempts) == [("a", "skipped_open", False), ("b", "skipped_open", False)]


async def test_a_failure_next_to_an_open_target_reports_the_failure_not_a_wait() -> None:
    harness = Harness("a", "b", consecutive_failures=1, open_s=30, max_open_s=300)
    await harness.run().run(scripted({"a": [fail()], "b": [ok("b")]}))
    run = harness.run(RetryPolicy(max_attempts=1))
    with pytest.raises(FallbackExhausted) as exhausted:
        await run.run(scripted({"a": [], "b": [fail(502)]}))
    assert exhausted.value.last_error is not None and exhausted.value.last_error.status == 502
    assert exhausted.value.retry_after_s is None


async def test_only_skipped_targets_end_the_loop_without_a_retry_round() -> None:
    harness = Harness("a", consecutive_failures=1, open_s=30, max_open_s=30)
    with pytest.raises(FallbackExhausted):
        await harness.run(RetryPolicy(max_attempts=1)).run(scripted({"a": [fail()]}))
    run = harness.run()
    with pytest.raises(FallbackExhausted):
        await run.run(scripted({"a": []}))
    assert outcomes(run.attempts) == [("a", "skipped_open", False)]


@pytest.fixture
def backoffs(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The fallback loop's backoff sleeps, recorded and cut short."""
    slept: list[float] = []
    real_sleep = asyncio.sleep

    async def sleep(delay: float) -> None:
        slept.append(delay)
        await real_sleep(0)

    monkeypatch.setattr(fallback.asyncio, "sleep", sleep)
    return slept


async def test_a_backoff_past_the_request_deadline_answers_now(backoffs: list[float]) -> None:
    harness = Harness("a")
    policy = RetryPolicy(max_attempts=3, deadline_s=3.0, backoff_base_s=0.001, backoff_max_s=10)
    run = harness.run(policy)
    with pytest.raises(FallbackExhausted) as exhausted:
        await run.run(scripted({"a": [fail(503, 5.0), ok("too late")]}))
    assert exhausted.value.last_error is not None
    assert [a.outcome for a in run.attempts] == ["failure"]
    assert backoffs == []  # the client is answered instead of held past its deadline


async def test_a_retry_after_within_the_cap_is_the_backoff_floor(backoffs: list[float]) -> None:
    harness = Harness("a")
    policy = RetryPolicy(max_attempts=2, deadline_s=30.0, backoff_base_s=0.001, backoff_max_s=10)
    result, _ = await harness.run(policy).run(scripted({"a": [fail(503, 4.0), ok("again")]}))
    assert result == "again"
    assert backoffs == [4.0]


async def test_no_attempt_starts_after_the_request_deadline() -> None:
    harness = Harness("a", "b")
    policy = RetryPolicy(max_attempts=3, deadline_s=0.05)

    async def slow_failure() -> str:
        await asyncio.sleep(0.1)  # the upstream's own latency, past the whole deadline
        raise UpstreamError("boom", status=500)

    run = harness.run(policy)
    with pytest.raises(FallbackExhausted):
        await run.run(scripted({"a": [slow_failure], "b": [ok("too late")]}))
    assert [a.provider for a in run.attempts] == ["a"]


async def test_a_client_error_from_the_hedge_does_not_wait_for_the_primary() -> None:
    harness = Harness("a", "b", hedge_ms=1)
    primary_released = asyncio.Event()  # never set: only a cancellation ends the primary
    run = harness.run()
    with pytest.raises(ClientError) as raised:
        await run.run(scripted({"a": [waits_for(primary_released, ok("a"))], "b": [fail(400)]}))
    assert raised.value.target.provider.name == "b"
    assert sorted(outcomes(run.attempts)) == [
        ("a", "cancelled", False),
        ("b", "client_error", True),
    ]


async def test_a_rejected_request_from_the_primary_ends_the_race() -> None:
    harness = Harness("a", "b", hedge_ms=1)
    hedge_started = asyncio.Event()

    async def rejected_once_hedged() -> str:
        await hedge_started.wait()
        raise RequestRejected("`n` greater than 1 is not supported by mock targets.", "n")

    async def hedge() -> str:
        hedge_started.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    run = harness.run()
    with pytest.raises(RequestRejected):
        await run.run(scripted({"a": [rejected_once_hedged], "b": [hedge]}))
    assert sorted(outcomes(run.attempts)) == [
        ("a", "client_error", False),
        ("b", "cancelled", True),
    ]


async def test_a_cancelled_hedged_request_cancels_both_racers() -> None:
    harness = Harness("a", "b", hedge_ms=1)
    racing = asyncio.Event()

    async def primary() -> str:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def hedge() -> str:
        racing.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    run = harness.run()
    request = asyncio.create_task(run.run(scripted({"a": [primary], "b": [hedge]})))
    await racing.wait()
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request
    # Both racers were cancelled and had finished (each logged) before the request ended.
    assert sorted(outcomes(run.attempts)) == [("a", "cancelled", False), ("b", "cancelled", True)]


async def test_a_loser_that_also_finished_is_discarded() -> None:
    harness = Harness("a", "b", hedge_ms=1)
    both = asyncio.Event()
    discarded: list[str] = []

    async def discard(result: str) -> None:
        discarded.append(result)

    async def hedge() -> str:
        both.set()
        return "from b"

    run = harness.run()
    result, target = await run.run(
        scripted({"a": [waits_for(both, ok("from a"))], "b": [hedge]}), discard
    )
    # Both answered in the same turn: one wins, the other's result is released, not leaked.
    assert sorted([result, *discarded]) == ["from a", "from b"] and len(discarded) == 1
    assert result == f"from {target.provider.name}"


async def test_a_cancelled_loser_is_not_discarded() -> None:
    harness = Harness("a", "b", hedge_ms=1)
    discarded: list[str] = []

    async def discard(result: str) -> None:
        discarded.append(result)

    never = asyncio.Event()
    run = harness.run()
    result, target = await run.run(
        scripted({"a": [waits_for(never, ok("a"))], "b": [ok("hedge won")]}), discard
    )
    assert (result, target.provider.name) == ("hedge won", "b")
    assert discarded == []
    assert sorted(outcomes(run.attempts)) == [("a", "cancelled", False), ("b", "success", True)]


async def test_a_primary_skipped_as_open_leaves_the_hedge_to_the_next_targets() -> None:
    harness = Harness("a", "b", "c", hedge_ms=50, consecutive_failures=1, open_s=30, max_open_s=30)
    await harness.run().run(scripted({"a": [fail()], "b": [ok("b")]}))
    run = harness.run()
    result, target = await run.run(scripted({"a": [], "b": [ok("from b")], "c": [ok("never")]}))
    assert (result, target.provider.name) == ("from b", "b")
    assert outcomes(run.attempts) == [("a", "skipped_open", False), ("b", "success", False)]


async def test_a_round_in_which_every_target_was_skipped_is_the_last() -> None:
    """Round one fails both targets and opens their breakers; round two skips both, fails
    nothing, and no third round follows."""
    harness = Harness("a", "b", consecutive_failures=1, open_s=30, max_open_s=30)
    run = harness.run(RetryPolicy(max_attempts=4, backoff_base_s=0.001, backoff_max_s=0.002))
    with pytest.raises(FallbackExhausted):
        await run.run(scripted({"a": [fail()], "b": [fail()]}))
    assert outcomes(run.attempts) == [
        ("a", "failure", False),
        ("b", "failure", False),
        ("a", "skipped_open", False),
        ("b", "skipped_open", False),
    ]
