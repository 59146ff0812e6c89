"""The fallback loop's conduct on a clock the test holds: the same-target retry (when it is
allowed, how long it waits, the attempt it may not take from an untried target), each attempt's
share of the request deadline, the retry round's backoff at its edges, context-length errors
that move on to another model, and the hedge's delay and its two racers.

The event loop's clock is frozen and moved only by the test (and by the loop's sleeps, which
advance it instead of waiting), so every deadline edge is reached exactly and nothing waits."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from routerx.providers.error_detail import CONTEXT_LENGTH_EXCEEDED
from routerx.providers.errors import FailureKind, UpstreamError
from routerx.routing import fallback
from routerx.routing.attempt import ClientError, TargetAttempt
from routerx.routing.fallback import FallbackExhausted, FallbackRun, RetryPolicy
from routerx.routing.same_target import RETRY_SAME, SAME_TARGET_MIN_WAIT_S
from tests.routing.test_fallback_mutants import Behaviour, Harness, fail, ok, outcomes


class LoopTime:
    """The running loop's `time()`, frozen at `now`; `asyncio.sleep` moves it and returns."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = 1000.0
        self.slept: list[float] = []
        monkeypatch.setattr(asyncio.get_running_loop(), "time", lambda: self.now)
        real_sleep = asyncio.sleep

        async def sleep(delay: float) -> None:
            self.slept.append(delay)
            self.now += delay
            await real_sleep(0)

        monkeypatch.setattr(fallback.asyncio, "sleep", sleep)

    def takes(self, seconds: float, then: Behaviour) -> Behaviour:
        """An upstream that answers (or fails) after `seconds` of the deadline."""

        async def answer() -> str:
            self.now += seconds
            return await then()

        return answer

    def same_target_waits(self) -> list[bool]:
        """Per sleep: a same-target wait (>= 50 ms) rather than a retry round's backoff (the
        policies here cap those at 2 ms)."""
        return [delay >= SAME_TARGET_MIN_WAIT_S for delay in self.slept]


QUICK = RetryPolicy(max_attempts=3, deadline_s=60.0, backoff_base_s=0.001, backoff_max_s=0.002)


def policy(**changes: Any) -> RetryPolicy:
    return dataclasses.replace(QUICK, **changes)


Perform = Callable[[TargetAttempt], Awaitable[str]]


def recorded(
    behaviours: dict[str, list[Behaviour]], budgets: list[tuple[str, float | None]]
) -> Perform:
    """Like `scripted`, noting each attempt's time budget."""

    async def attempt(target_attempt: TargetAttempt) -> str:
        name = target_attempt.target.provider.name
        budgets.append((name, target_attempt.budget_s))
        return await behaviours[name].pop(0)()

    return attempt


def scripted(behaviours: dict[str, list[Behaviour]]) -> Perform:
    return recorded(behaviours, [])


def connect_failure() -> Behaviour:
    """A failure that is never retried on the same target (no answer at all)."""

    async def answer() -> str:
        raise UpstreamError("refused", kind=FailureKind.CONNECT)

    return answer


def too_long() -> Behaviour:
    """The request is longer than this model's context: another model may still answer."""

    async def answer() -> str:
        raise UpstreamError("too long", status=400, code=CONTEXT_LENGTH_EXCEEDED)

    return answer


def run_of(harness: Harness, retry: RetryPolicy = QUICK) -> FallbackRun:
    return harness.run(retry)


# ---- the defaults ------------------------------------------------------------------------


class Highest(random.Random):
    def random(self) -> float:
        return 1.0


def test_the_default_policy_is_the_documented_one() -> None:
    """README: 3 attempts in all, a 60 s deadline, a 2 s backoff cap (full jitter from 0.1 s,
    doubling per round)."""
    default = RetryPolicy()
    assert (default.max_attempts, default.deadline_s, default.backoff_max_s) == (3, 60.0, 2.0)
    assert [default.backoff(n, None, Highest()) for n in range(6)] == [
        pytest.approx(0.1),
        pytest.approx(0.2),
        pytest.approx(0.4),
        pytest.approx(0.8),
        pytest.approx(1.6),
        2.0,
    ]
    assert default.backoff(0, 0.7, Highest()) == 0.7  # a Retry-After is the floor


def test_policy_and_run_are_fixed_shapes() -> None:
    default = RetryPolicy()
    with pytest.raises(AttributeError):
        default.max_attempts = 5  # type: ignore[misc]
    run = Harness("a").run()
    with pytest.raises(AttributeError):
        run.extra = 1  # type: ignore[attr-defined]
    assert (run.made, run.last_error, run.open_wait, run.declined) == (0, None, None, None)


def test_the_exhausted_error_names_what_happened() -> None:
    last = UpstreamError("boom", status=502)
    exhausted = FallbackExhausted(last, 3.0)
    assert str(exhausted) == "every target failed or was unavailable"
    assert (exhausted.last_error, exhausted.retry_after_s) == (last, 3.0)


# ---- the same-target retry ---------------------------------------------------------------


async def test_a_transient_failure_is_tried_once_more_on_the_same_target(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = LoopTime(monkeypatch)
    run = run_of(Harness("a", "b", on_transient=RETRY_SAME))
    result, target = await run.run(scripted({"a": [fail(500), ok("a again")], "b": []}))
    assert (result, target.provider.name) == ("a again", "a")
    assert outcomes(run.attempts) == [("a", "failure", False), ("a", "success", False)]
    assert clock.same_target_waits() == [True]


async def test_fail_over_moves_on_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = LoopTime(monkeypatch)
    run = run_of(Harness("a", "b"))
    result, _ = await run.run(scripted({"a": [fail(500)], "b": [ok("from b")]}))
    assert result == "from b" and clock.slept == []


async def test_a_failure_without_an_answer_is_not_retried_on_the_same_target(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = LoopTime(monkeypatch)
    run = run_of(Harness("a", "b", on_transient=RETRY_SAME))
    result, _ = await run.run(scripted({"a": [connect_failure()], "b": [ok("from b")]}))
    assert result == "from b" and clock.slept == []


async def test_a_retry_that_fails_again_moves_on(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = LoopTime(monkeypatch)
    run = run_of(Harness("a", "b", on_transient=RETRY_SAME), policy(max_attempts=4))
    result, _ = await run.run(scripted({"a": [fail(500), fail(502)], "b": [ok("from b")]}))
    assert result == "from b"
    assert outcomes(run.attempts) == [
        ("a", "failure", False),
        ("a", "failure", False),
        ("b", "success", False),
    ]
    assert clock.same_target_waits() == [True]


async def test_a_retry_that_meets_a_client_error_moves_on_only_if_another_model_may_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    LoopTime(monkeypatch)
    run = run_of(Harness("a", "b", on_transient=RETRY_SAME), policy(max_attempts=4))
    result, _ = await run.run(scripted({"a": [fail(500), too_long()], "b": [ok("from b")]}))
    assert result == "from b"
    assert [a.outcome for a in run.attempts] == ["failure", "client_error", "success"]
    run = run_of(Harness("a", "b", on_transient=RETRY_SAME), policy(max_attempts=4))
    with pytest.raises(ClientError):
        await run.run(scripted({"a": [fail(500), fail(400)], "b": [ok("never")]}))


async def test_a_target_is_retried_at_once_only_once_per_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = LoopTime(monkeypatch)
    run = run_of(Harness("a", on_transient=RETRY_SAME), policy(max_attempts=4))
    result, _ = await run.run(scripted({"a": [fail(500), fail(500), fail(500), ok("fourth")]}))
    assert result == "fourth"
    # the retry at once, then the retry rounds' backoffs: never a second retry at once
    assert clock.same_target_waits() == [True, False, False]


async def test_a_retry_may_not_take_the_attempt_an_untried_target_needs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = LoopTime(monkeypatch)
    # Two attempts in all: retrying `a` would leave none for `b`.
    run = run_of(Harness("a", "b", on_transient=RETRY_SAME), policy(max_attempts=2))
    result, _ = await run.run(scripted({"a": [fail(500)], "b": [ok("from b")]}))
    assert result == "from b" and clock.slept == []
    # Three: the retry (2nd) still leaves the 3rd for `b`.
    run = run_of(Harness("a", "b", on_transient=RETRY_SAME), policy(max_attempts=3))
    result, _ = await run.run(scripted({"a": [fail(500), ok("a again")], "b": []}))
    assert result == "a again" and clock.same_target_waits() == [True]


async def test_the_last_target_may_use_the_attempt_it_is_owed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = LoopTime(monkeypatch)
    run = run_of(Harness("a", "b", on_transient=RETRY_SAME), policy(max_attempts=3))
    result, target = await run.run(
        scripted({"a": [connect_failure()], "b": [fail(500), ok("b again")]})
    )
    assert (result, target.provider.name) == ("b again", "b")
    assert clock.same_target_waits() == [True]


async def test_a_target_that_declined_leaves_its_attempt_to_a_retry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`b` refused the request as too long for its model: it is no longer owed an attempt."""
    clock = LoopTime(monkeypatch)
    run = run_of(Harness("a", "b", on_transient=RETRY_SAME), policy(max_attempts=4))
    result, target = await run.run(
        scripted({"a": [connect_failure(), fail(500), ok("a again")], "b": [too_long()]})
    )
    assert (result, target.provider.name) == ("a again", "a")
    assert [a.outcome for a in run.attempts] == ["failure", "client_error", "failure", "success"]
    assert clock.same_target_waits() == [False, True]  # the round's backoff, then the retry


async def test_no_retry_when_its_wait_would_reach_the_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = LoopTime(monkeypatch)
    run = run_of(Harness("a", "b", on_transient=RETRY_SAME), policy(deadline_s=10.0))
    # 9.5 s in, a 503 asks for 0.5 s: the wait would end exactly at the deadline.
    result, _ = await run.run(
        scripted({"a": [clock.takes(9.5, fail(503, 0.5))], "b": [ok("from b")]})
    )
    assert result == "from b" and clock.slept == []


async def test_a_retry_whose_wait_ends_before_the_deadline_is_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = LoopTime(monkeypatch)
    run = run_of(Harness("a", "b", on_transient=RETRY_SAME), policy(deadline_s=10.0))
    result, _ = await run.run(
        scripted({"a": [clock.takes(9.0, fail(503, 0.5)), ok("a again")], "b": []})
    )
    assert result == "a again" and clock.slept == [0.5]


async def test_a_retry_after_an_open_breaker_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    LoopTime(monkeypatch)
    harness = Harness("a", "b", on_transient=RETRY_SAME, consecutive_failures=1, open_s=30)
    run = run_of(harness)
    result, _ = await run.run(scripted({"a": [fail(500)], "b": [ok("from b")]}))
    assert result == "from b"
    assert outcomes(run.attempts) == [
        ("a", "failure", False),
        ("a", "skipped_open", False),
        ("b", "success", False),
    ]


# ---- each attempt's share of the deadline ------------------------------------------------


async def test_an_attempt_leaves_half_of_what_is_left_for_the_next_target(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    LoopTime(monkeypatch)
    budgets: list[tuple[str, float | None]] = []
    run = run_of(Harness("a", "b"), policy(deadline_s=20.0))
    await run.run(recorded({"a": [connect_failure()], "b": [ok("b")]}, budgets))
    assert budgets == [("a", 10.0), ("b", 20.0)]  # the last target may use all of it


async def test_the_reserve_for_the_next_target_is_at_most_15_s(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    LoopTime(monkeypatch)
    budgets: list[tuple[str, float | None]] = []
    run = run_of(Harness("a", "b", "c"), policy(deadline_s=60.0))
    await run.run(
        recorded({"a": [connect_failure()], "b": [connect_failure()], "c": [ok("c")]}, budgets)
    )
    assert budgets == [("a", 45.0), ("b", 45.0), ("c", 60.0)]


async def test_the_last_target_gets_what_is_left_of_the_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = LoopTime(monkeypatch)
    budgets: list[tuple[str, float | None]] = []
    run = run_of(Harness("a", "b"), policy(deadline_s=10.0))
    await run.run(recorded({"a": [clock.takes(9.5, connect_failure())], "b": [ok("b")]}, budgets))
    assert budgets == [("a", 5.0), ("b", 0.5)]


async def test_a_target_that_declined_is_owed_no_reserve(monkeypatch: pytest.MonkeyPatch) -> None:
    LoopTime(monkeypatch)
    budgets: list[tuple[str, float | None]] = []
    run = run_of(Harness("a", "b"), policy(deadline_s=20.0))
    await run.run(recorded({"a": [connect_failure(), ok("a again")], "b": [too_long()]}, budgets))
    assert budgets[:2] == [("a", 10.0), ("b", 20.0)]
    # Round 2, after its backoff (at most 2 ms): `b` is out, so `a` may use all that is left.
    assert budgets[2] == ("a", pytest.approx(20.0, abs=0.01))


async def test_a_same_target_retry_keeps_the_reserve(monkeypatch: pytest.MonkeyPatch) -> None:
    LoopTime(monkeypatch)
    budgets: list[tuple[str, float | None]] = []
    run = run_of(Harness("a", "b", on_transient=RETRY_SAME), policy(deadline_s=20.0))
    await run.run(recorded({"a": [fail(500), ok("a again")], "b": []}, budgets))
    (first, second) = budgets
    assert first == ("a", 10.0)
    assert second[0] == "a" and second[1] is not None and second[1] < 10.0  # after the wait


async def test_no_attempt_starts_at_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = LoopTime(monkeypatch)
    run = run_of(Harness("a", "b"), policy(deadline_s=10.0))
    with pytest.raises(FallbackExhausted):
        await run.run(scripted({"a": [clock.takes(10.0, fail(500))], "b": [ok("too late")]}))
    assert [a.provider for a in run.attempts] == ["a"]


# ---- the retry round ---------------------------------------------------------------------


async def test_the_attempt_cap_stops_a_round_midway(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = LoopTime(monkeypatch)
    run = run_of(Harness("a", "b", "c"), policy(max_attempts=2))
    with pytest.raises(FallbackExhausted) as exhausted:
        await run.run(scripted({"a": [fail(500)], "b": [fail(502)], "c": [ok("never")]}))
    assert [a.provider for a in run.attempts] == ["a", "b"]
    assert exhausted.value.last_error is not None and exhausted.value.last_error.status == 502
    assert clock.slept == []


async def test_no_backoff_once_the_attempts_are_used_up(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = LoopTime(monkeypatch)
    run = run_of(Harness("a", "b"), policy(max_attempts=2))
    with pytest.raises(FallbackExhausted):
        await run.run(scripted({"a": [fail(500)], "b": [fail(502)]}))
    assert clock.slept == []


async def test_a_retry_after_equal_to_the_cap_is_waited(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = LoopTime(monkeypatch)
    run = run_of(Harness("a"), policy(backoff_max_s=2.0))
    result, _ = await run.run(scripted({"a": [fail(503, 2.0), ok("again")]}))
    assert result == "again" and clock.slept == [2.0]


async def test_a_backoff_ending_at_the_deadline_answers_now(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = LoopTime(monkeypatch)
    run = run_of(Harness("a"), policy(deadline_s=10.0, backoff_max_s=2.0))
    with pytest.raises(FallbackExhausted):
        await run.run(scripted({"a": [clock.takes(8.0, fail(503, 2.0)), ok("too late")]}))
    assert clock.slept == [] and len(run.attempts) == 1


async def test_a_backoff_ending_before_the_deadline_is_waited(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = LoopTime(monkeypatch)
    run = run_of(Harness("a"), policy(deadline_s=10.0, backoff_max_s=2.0))
    result, _ = await run.run(scripted({"a": [clock.takes(7.5, fail(503, 2.0)), ok("in time")]}))
    assert result == "in time" and clock.slept == [2.0]


# ---- context-length errors ---------------------------------------------------------------


async def test_a_context_length_error_moves_on_and_is_not_tried_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    LoopTime(monkeypatch)
    run = run_of(Harness("a", "b"))
    with pytest.raises(ClientError) as raised:
        await run.run(scripted({"a": [too_long()], "b": [fail(500), fail(502)]}))
    # No other target answered: the client gets the first request-caused error.
    assert raised.value.target.provider.name == "a"
    assert [(a.provider, a.outcome) for a in run.attempts] == [
        ("a", "client_error"),
        ("b", "failure"),
        ("b", "failure"),
    ]


async def test_the_first_context_length_error_is_the_one_returned(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    LoopTime(monkeypatch)
    run = run_of(Harness("a", "b"))
    with pytest.raises(ClientError) as raised:
        await run.run(scripted({"a": [too_long()], "b": [too_long()]}))
    assert raised.value.target.provider.name == "a"
    assert run.declined is raised.value
    assert run.excluded == {("a", "m-a"), ("b", "m-b")}


async def test_another_model_answers_after_a_context_length_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    LoopTime(monkeypatch)
    run = run_of(Harness("a", "b"))
    result, _ = await run.run(scripted({"a": [too_long()], "b": [ok("bigger window")]}))
    assert result == "bigger window"


# ---- hedging -----------------------------------------------------------------------------


async def test_the_hedge_delay_is_the_rules_milliseconds(monkeypatch: pytest.MonkeyPatch) -> None:
    timeouts: list[float | None] = []
    real_wait = asyncio.wait

    async def wait(tasks: Any, **options: Any) -> Any:
        timeouts.append(options.get("timeout"))
        return await real_wait(tasks, **options)

    monkeypatch.setattr(fallback.asyncio, "wait", wait)
    run = Harness("a", "b", hedge_ms=1000).run()
    result, _ = await run.run(scripted({"a": [ok("primary")], "b": []}))
    assert result == "primary" and timeouts[0] == 1.0


async def test_a_hedge_races_two_targets_never_three() -> None:
    primary_released = asyncio.Event()  # never set
    run = Harness("a", "b", "c", hedge_ms=1).run()

    async def primary() -> str:
        await primary_released.wait()
        return "a"

    result, target = await run.run(scripted({"a": [primary], "b": [ok("b")], "c": [ok("c")]}))
    assert (result, target.provider.name) == ("b", "b")
    assert sorted(outcomes(run.attempts)) == [("a", "cancelled", False), ("b", "success", True)]


async def test_a_context_length_error_from_the_hedge_lets_the_primary_win() -> None:
    run = Harness("a", "b", hedge_ms=1).run()
    hedge_started = asyncio.Event()

    async def primary() -> str:
        await hedge_started.wait()
        for _ in range(100):  # answers once the hedge's error was handled (or soon after)
            if run.excluded:
                break
            await asyncio.sleep(0)
        return "primary"

    async def hedge() -> str:
        hedge_started.set()
        raise UpstreamError("too long", status=400, code=CONTEXT_LENGTH_EXCEEDED)

    result, target = await run.run(scripted({"a": [primary], "b": [hedge]}))
    assert (result, target.provider.name) == ("primary", "a")
    assert sorted(outcomes(run.attempts)) == [
        ("a", "success", False),
        ("b", "client_error", True),
    ]
    assert run.excluded == {("b", "m-b")}


async def test_a_single_target_is_not_hedged_and_gets_its_retry_round() -> None:
    run = Harness("a", hedge_ms=1).run()
    result, _ = await run.run(scripted({"a": [fail(500), ok("a again")]}))
    assert result == "a again"
    assert outcomes(run.attempts) == [("a", "failure", False), ("a", "success", False)]
