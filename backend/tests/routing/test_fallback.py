"""The fallback loop and hedging, with scripted attempts and real asyncio tasks."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import pytest

from routerx.core.log_row import Attempt
from routerx.core.snapshot import RuleEntry
from routerx.providers.base import ProviderConfig
from routerx.providers.errors import FailureKind, UpstreamError
from routerx.routing.attempt import ClientError, TargetAttempt
from routerx.routing.breaker_gate import ProviderBreakers
from routerx.routing.breaker_registry import BreakerRegistry
from routerx.routing.fallback import FallbackExhausted, FallbackRun, RetryPolicy
from routerx.routing.rules import PlannedTarget, RoutePlan

Behaviour = Callable[[], Awaitable[str]]


def targets(*names: str) -> tuple[PlannedTarget, ...]:
    return tuple(
        PlannedTarget(ProviderConfig(id=i, name=n, type="mock"), f"m-{n}", i, 1)
        for i, n in enumerate(names)
    )


def run_for(
    names: tuple[str, ...],
    hedge_ms: int | None = None,
    breakers: ProviderBreakers | None = None,
    policy: RetryPolicy | None = None,
) -> FallbackRun:
    rule = RuleEntry(1, "r", "m", "text", None, (), hedge_ms)
    return FallbackRun(
        RoutePlan(rule, targets(*names), "test"),
        breakers or ProviderBreakers(BreakerRegistry()),
        policy or RetryPolicy(max_attempts=3, backoff_base_s=0.001, backoff_max_s=0.002),
        [],
        random.Random(1),
    )


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


def outcomes(attempts: list[Attempt]) -> list[tuple[str, str, bool]]:
    return [(a.provider, a.outcome, a.hedged) for a in attempts]


async def test_failure_moves_to_the_next_target() -> None:
    run = run_for(("a", "b"))
    result, target = await run.run(scripted({"a": [fail()], "b": [ok("from b")]}))
    assert (result, target.provider.name) == ("from b", "b")
    assert outcomes(run.attempts) == [("a", "failure", False), ("b", "success", False)]


async def test_client_error_does_not_fall_back() -> None:
    run = run_for(("a", "b"))
    with pytest.raises(ClientError):
        await run.run(scripted({"a": [fail(400)], "b": [ok("never")]}))
    assert outcomes(run.attempts) == [("a", "client_error", False)]


async def test_retry_round_after_every_target_failed() -> None:
    run = run_for(("a", "b"))
    result, target = await run.run(scripted({"a": [fail(), ok("a again")], "b": [fail(503)]}))
    assert (result, target.provider.name) == ("a again", "a")
    assert [a.outcome for a in run.attempts] == ["failure", "failure", "success"]


async def test_attempt_cap_ends_with_the_last_error() -> None:
    run = run_for(("a", "b"), policy=RetryPolicy(max_attempts=2, backoff_base_s=0.001))
    with pytest.raises(FallbackExhausted) as exhausted:
        await run.run(scripted({"a": [fail(500)], "b": [fail(502)]}))
    assert exhausted.value.last_error is not None and exhausted.value.last_error.status == 502
    assert len(run.attempts) == 2


async def test_long_retry_after_answers_now_instead_of_waiting() -> None:
    run = run_for(("a",), policy=RetryPolicy(max_attempts=3, backoff_max_s=1.0))
    with pytest.raises(FallbackExhausted) as exhausted:
        await run.run(scripted({"a": [fail(429, retry_after=30)]}))
    assert exhausted.value.last_error is not None
    assert exhausted.value.last_error.retry_after_s == 30
    assert len(run.attempts) == 1


async def test_open_breaker_is_skipped_and_all_open_reports_the_wait() -> None:
    breakers = ProviderBreakers(BreakerRegistry())
    run = run_for(("a",), breakers=breakers)
    for _ in range(5):  # five consecutive failures open a breaker by default
        with pytest.raises(FallbackExhausted):
            await run_for(("a",), breakers=breakers, policy=RetryPolicy(max_attempts=1)).run(
                scripted({"a": [fail()]})
            )
    with pytest.raises(FallbackExhausted) as exhausted:
        await run.run(scripted({"a": [ok("never")]}))
    assert exhausted.value.last_error is None
    assert exhausted.value.retry_after_s is not None and exhausted.value.retry_after_s > 15
    assert outcomes(run.attempts)[0] == ("a", "skipped_open", False)


async def test_hedge_races_a_slow_primary_and_cancels_the_loser() -> None:
    """The hedge wins; the primary, still waiting, is cancelled (not left running) and, having
    produced nothing, has nothing to discard."""
    run = run_for(("a", "b"), hedge_ms=10)
    discarded: list[str] = []
    loser_cancelled = asyncio.Event()

    async def discard(result: str) -> None:
        discarded.append(result)

    async def waits_for_ever() -> str:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            loser_cancelled.set()
            raise
        raise AssertionError("unreachable")

    result, target = await run.run(
        scripted({"a": [waits_for_ever], "b": [ok("hedge won")]}), discard
    )
    assert (result, target.provider.name) == ("hedge won", "b")
    assert loser_cancelled.is_set(), "the losing primary was left running"
    assert discarded == []
    assert sorted(outcomes(run.attempts)) == [("a", "cancelled", False), ("b", "success", True)]


async def test_no_hedge_when_the_primary_answers_in_time() -> None:
    run = run_for(("a", "b"), hedge_ms=5_000)
    result, _ = await run.run(scripted({"a": [ok("primary")], "b": [ok("never")]}))
    assert result == "primary"
    assert outcomes(run.attempts) == [("a", "success", False)]


async def test_hedge_loser_that_failed_lets_the_other_win() -> None:
    gate = asyncio.Event()

    async def slow_ok() -> str:
        await gate.wait()
        return "primary late"

    async def failing_hedge() -> str:
        gate.set()
        raise UpstreamError("hedge failed", status=500)

    run = run_for(("a", "b"), hedge_ms=5)
    result, target = await run.run(scripted({"a": [slow_ok], "b": [failing_hedge]}))
    assert (result, target.provider.name) == ("primary late", "a")
    assert sorted(outcomes(run.attempts)) == [("a", "success", False), ("b", "failure", True)]


async def test_two_hedged_targets_that_both_fail_get_another_round() -> None:
    """The racers (the primary, failing once the hedge has failed) were the whole first round:
    after the backoff the second round tries the primary again, within the 3 attempts."""
    gate = asyncio.Event()

    async def slow_failure() -> str:
        await gate.wait()
        raise UpstreamError("primary failed", status=500)

    async def failing_hedge() -> str:
        gate.set()
        raise UpstreamError("hedge failed", status=500)

    run = run_for(("a", "b"), hedge_ms=1)
    behaviours = {"a": [slow_failure, ok("second round")], "b": [failing_hedge]}
    result, target = await run.run(scripted(behaviours))
    assert (result, target.provider.name) == ("second round", "a")
    assert sorted(outcomes(run.attempts)) == [
        ("a", "failure", False),
        ("a", "success", False),
        ("b", "failure", True),
    ]


async def test_both_hedged_attempts_fail_then_the_third_target_serves() -> None:
    run = run_for(("a", "b", "c"), hedge_ms=1)
    result, target = await run.run(scripted({"a": [fail()], "b": [fail()], "c": [ok("third")]}))
    assert target.provider.name == "c" and result == "third"
