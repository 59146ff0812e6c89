"""Breaker transitions, driven through a process-local registry and a fake clock."""

from __future__ import annotations

import asyncio
import random

import msgspec
import pytest

from routerx.core.clock import FakeClock
from routerx.routing import breaker
from routerx.routing.breaker import (
    BreakerConfig,
    BreakerRecord,
    BreakerState,
    Outcome,
    RandomSource,
)
from routerx.routing.breaker_registry import BreakerRegistry

KEY = "openai:gpt-4o"
DEFAULT = BreakerConfig()
RATE_ONLY = BreakerConfig(consecutive_failures=1_000)


def no_jitter() -> float:
    return 0.5


class Harness:
    def __init__(self, rng: RandomSource = no_jitter) -> None:
        self.clock = FakeClock()
        self.seen: list[tuple[str, BreakerState, BreakerState]] = []
        self.registry = BreakerRegistry(
            clock=self.clock, rng=rng, on_transition=lambda *t: self.seen.append(t)
        )

    def fail(
        self, times: int = 1, cfg: BreakerConfig = DEFAULT, retry_after_s: float | None = None
    ) -> None:
        for _ in range(times):
            self.registry.record(KEY, cfg, Outcome.FAILURE, retry_after_s)

    def succeed(self, times: int = 1, cfg: BreakerConfig = DEFAULT) -> None:
        for _ in range(times):
            self.registry.record(KEY, cfg, Outcome.SUCCESS)

    def state(self) -> BreakerState:
        view = self.registry.view(KEY)
        assert view is not None
        return view.state

    def open_for(self) -> float:
        view = self.registry.view(KEY)
        assert view is not None and view.open_until is not None and view.opened_at is not None
        return view.open_until - view.opened_at

    def trip(self, cfg: BreakerConfig = DEFAULT) -> None:
        self.fail(cfg.consecutive_failures, cfg)
        assert self.state() is BreakerState.OPEN

    def probe(self, cfg: BreakerConfig = DEFAULT) -> None:
        admission = self.registry.admit(KEY, cfg)
        assert admission.allowed and admission.probe


def test_does_not_judge_the_rate_before_min_calls() -> None:
    h = Harness()
    h.fail(9, RATE_ONLY)
    assert h.state() is BreakerState.CLOSED
    assert h.registry.admit(KEY, RATE_ONLY).allowed
    h.fail(1, RATE_ONLY)
    assert h.state() is BreakerState.OPEN


def test_opens_when_the_failure_rate_reaches_the_threshold() -> None:
    h = Harness()
    for _ in range(4):
        h.succeed(1, RATE_ONLY)
        h.fail(1, RATE_ONLY)
    h.succeed(1, RATE_ONLY)
    assert h.state() is BreakerState.CLOSED  # 4 of 9: too few calls and below 50 %
    h.fail(1, RATE_ONLY)
    assert h.state() is BreakerState.OPEN  # 5 of 10
    assert h.seen == [(KEY, BreakerState.CLOSED, BreakerState.OPEN)]


def test_stays_closed_below_the_failure_rate() -> None:
    h = Harness()
    h.succeed(6, RATE_ONLY)
    h.fail(4, RATE_ONLY)
    h.succeed(10, RATE_ONLY)
    assert h.state() is BreakerState.CLOSED


def test_consecutive_failures_trip_a_dead_provider_at_low_traffic() -> None:
    h = Harness()
    h.fail(4)
    assert h.state() is BreakerState.CLOSED
    h.fail(1)
    assert h.state() is BreakerState.OPEN


def test_a_success_resets_the_consecutive_count() -> None:
    h = Harness()
    h.fail(4)
    h.succeed()
    h.fail(4)
    assert h.state() is BreakerState.CLOSED


@pytest.mark.parametrize(
    ("elapsed", "expected"), [(59.5, BreakerState.OPEN), (60.0, BreakerState.CLOSED)]
)
def test_old_failures_age_out_of_the_window(elapsed: float, expected: BreakerState) -> None:
    h = Harness()
    h.fail(9, RATE_ONLY)
    h.clock.advance(elapsed)
    h.fail(1, RATE_ONLY)
    assert h.state() is expected


def test_neutral_outcomes_are_not_counted() -> None:
    h = Harness()
    for _ in range(20):
        h.registry.record(KEY, RATE_ONLY, Outcome.NEUTRAL)
    h.fail(9, RATE_ONLY)
    assert h.state() is BreakerState.CLOSED
    view = h.registry.view(KEY)
    assert view is not None and view.calls_in_window == 9


def test_a_neutral_outcome_does_not_break_a_failure_streak() -> None:
    h = Harness()
    h.fail(4)
    h.registry.record(KEY, DEFAULT, Outcome.NEUTRAL)
    h.fail(1)
    assert h.state() is BreakerState.OPEN


def test_open_period_boundaries() -> None:
    h = Harness()
    h.trip()
    assert h.open_for() == pytest.approx(20.0)
    h.clock.advance(19.999)
    refused = h.registry.admit(KEY, DEFAULT)
    assert not refused.allowed
    assert refused.state is BreakerState.OPEN
    assert refused.retry_after_s == pytest.approx(0.001)
    h.clock.advance(0.001)
    probe = h.registry.admit(KEY, DEFAULT)
    assert (probe.allowed, probe.state, probe.probe) == (True, BreakerState.HALF_OPEN, True)
    assert h.seen[-1] == (KEY, BreakerState.OPEN, BreakerState.HALF_OPEN)


def test_half_open_admits_exactly_the_configured_probes() -> None:
    h = Harness()
    h.trip()
    h.clock.advance(30)
    admissions = [h.registry.admit(KEY, DEFAULT) for _ in range(4)]
    assert [a.allowed for a in admissions] == [True, True, True, False]
    assert [a.probe for a in admissions] == [True, True, True, False]
    assert admissions[3].state is BreakerState.HALF_OPEN
    h.succeed()
    assert not h.registry.admit(KEY, DEFAULT).allowed  # a finished probe frees no slot


def test_successful_probes_close_and_reset_the_window() -> None:
    h = Harness()
    h.fail(4)
    h.trip()
    h.clock.advance(30)
    for _ in range(3):
        h.probe()
    h.succeed(2)
    assert h.state() is BreakerState.HALF_OPEN
    h.succeed(1)
    assert h.state() is BreakerState.CLOSED
    view = h.registry.view(KEY)
    assert view is not None
    assert (view.calls_in_window, view.failures_in_window, view.reopen_count) == (0, 0, 0)
    h.fail(4)
    assert h.state() is BreakerState.CLOSED  # the streak starts over


def test_probe_failures_keep_the_wait_short_then_double_it_up_to_the_cap() -> None:
    h = Harness()
    h.trip()
    waits = [h.open_for()]
    for _ in range(8):
        h.clock.advance(h.open_for())
        h.probe()
        h.fail()
        assert h.state() is BreakerState.OPEN
        waits.append(h.open_for())
    # A short outage: the recovered target is probed again within open_s (steady_reopens 3).
    assert waits == pytest.approx([20, 20, 20, 20, 40, 80, 160, 300, 300])
    view = h.registry.view(KEY)
    assert view is not None and view.reopen_count == 8


def test_the_reopen_count_resets_after_a_successful_close() -> None:
    h = Harness()
    h.trip()
    for _ in range(4):
        h.clock.advance(h.open_for())
        h.probe()
        h.fail()
    assert h.open_for() == pytest.approx(40)
    h.clock.advance(40)
    for _ in range(3):
        h.probe()
    h.succeed(3)
    h.trip()
    assert h.open_for() == pytest.approx(20)


@pytest.mark.parametrize("reopen_count", range(8))
def test_open_duration_stays_within_jitter_bounds(reopen_count: int) -> None:
    base = min(20.0 * 2 ** max(0, reopen_count - 3), 300.0)
    rng = random.Random(reopen_count)
    waits = [breaker.open_duration(DEFAULT, reopen_count, rng.random) for _ in range(200)]
    assert all(0.9 * base <= wait <= 1.1 * base for wait in waits)
    assert breaker.open_duration(DEFAULT, reopen_count, lambda: 0.0) == pytest.approx(0.9 * base)
    assert max(waits) > base > min(waits)  # the jitter really spreads the waits


def test_retry_after_keeps_the_breaker_open_at_least_that_long() -> None:
    h = Harness()
    h.fail(4)
    h.fail(1, retry_after_s=120.0)
    assert h.open_for() == pytest.approx(120)


def test_a_short_retry_after_does_not_shorten_the_open_period() -> None:
    h = Harness()
    h.fail(4)
    h.fail(1, retry_after_s=5.0)
    assert h.open_for() == pytest.approx(20)


def test_retry_after_seen_while_open_extends_the_open_period() -> None:
    h = Harness()
    h.trip()
    h.clock.advance(10)
    h.fail(1, retry_after_s=200.0)
    assert h.open_for() == pytest.approx(210)


def test_a_failed_probe_honours_retry_after() -> None:
    h = Harness()
    h.trip()
    h.clock.advance(30)
    h.probe()
    h.fail(1, retry_after_s=90.0)
    assert h.open_for() == pytest.approx(90)


async def test_concurrent_failures_make_exactly_one_open_transition() -> None:
    h = Harness()
    go = asyncio.Event()

    async def fail_once() -> None:
        await go.wait()
        h.registry.record(KEY, DEFAULT, Outcome.FAILURE)

    tasks = [asyncio.create_task(fail_once()) for _ in range(50)]
    await asyncio.sleep(0)
    go.set()
    await asyncio.gather(*tasks)
    assert h.seen == [(KEY, BreakerState.CLOSED, BreakerState.OPEN)]
    assert h.registry.transitions[(BreakerState.CLOSED, BreakerState.OPEN)] == 1


def test_a_late_outcome_from_before_the_open_is_not_a_probe_result() -> None:
    h = Harness()
    early = h.registry.admit(KEY, DEFAULT)
    h.trip()
    h.clock.advance(30)
    for _ in range(3):
        h.probe()
    h.registry.record(KEY, DEFAULT, Outcome.SUCCESS, admission=early)
    h.succeed(2)
    assert h.state() is BreakerState.HALF_OPEN  # only two real probes succeeded so far


def test_a_late_probe_result_from_an_earlier_round_is_ignored() -> None:
    h = Harness()
    h.trip()
    h.clock.advance(30)
    first, second = h.registry.admit(KEY, DEFAULT), h.registry.admit(KEY, DEFAULT)
    h.registry.record(KEY, DEFAULT, Outcome.FAILURE, admission=first)
    h.clock.advance(60)
    new_round = [h.registry.admit(KEY, DEFAULT) for _ in range(3)]
    h.registry.record(KEY, DEFAULT, Outcome.SUCCESS, admission=second)
    for admission in new_round[:2]:
        h.registry.record(KEY, DEFAULT, Outcome.SUCCESS, admission=admission)
    assert h.state() is BreakerState.HALF_OPEN
    h.registry.record(KEY, DEFAULT, Outcome.SUCCESS, admission=new_round[2])
    assert h.state() is BreakerState.CLOSED


def test_a_neutral_probe_frees_its_slot() -> None:
    h = Harness()
    h.trip()
    h.clock.advance(30)
    for _ in range(3):
        h.probe()
    h.registry.record(KEY, DEFAULT, Outcome.NEUTRAL)
    h.probe()
    assert not h.registry.admit(KEY, DEFAULT).allowed


async def test_reset_closes_an_open_breaker() -> None:
    h = Harness()
    h.trip()
    assert await h.registry.reset(KEY)
    assert h.state() is BreakerState.CLOSED
    assert h.seen[-1] == (KEY, BreakerState.OPEN, BreakerState.CLOSED)
    assert h.registry.admit(KEY, DEFAULT).allowed


def test_view_reports_wall_clock_times_and_counts() -> None:
    h = Harness()
    h.succeed(3)
    h.trip()
    view = h.registry.view(KEY)
    assert view is not None
    assert view.opened_at == pytest.approx(h.clock.time())
    assert view.open_until == pytest.approx(h.clock.time() + 30)
    assert (view.calls_in_window, view.failures_in_window, view.consecutive_failures) == (8, 5, 5)
    assert h.registry.views() == {KEY: view}
    assert h.registry.view("unknown") is None


def test_a_failing_transition_callback_does_not_reach_the_caller() -> None:
    def explode(*_: object) -> None:
        raise RuntimeError("metrics backend down")

    registry = BreakerRegistry(clock=FakeClock(), on_transition=explode)
    for _ in range(5):
        registry.record(KEY, DEFAULT, Outcome.FAILURE)
    assert not registry.admit(KEY, DEFAULT).allowed


def test_the_pure_record_ignores_neutral_outcomes() -> None:
    rec = BreakerRecord()
    for _ in range(10):
        rec = breaker.record(rec, DEFAULT, 1000.0, Outcome.NEUTRAL, no_jitter)
    assert rec == BreakerRecord()


def test_an_adopted_open_period_turns_half_open_when_it_ends() -> None:
    rec = breaker.adopt_open(BreakerRecord(), opened_at=990.0, open_until=1020.0, reopen_count=2)
    assert rec.state is BreakerState.OPEN
    rec, refused = breaker.admit(rec, 1019.0, probe_grant=3)
    assert not refused.allowed
    rec, probe = breaker.admit(rec, 1020.0, probe_grant=3)
    assert probe.probe and rec.reopen_count == 2


def test_the_window_stays_bounded_whatever_the_traffic() -> None:
    rec, now = BreakerRecord(), 1000.0
    for _ in range(5_000):
        rec = breaker.record(rec, RATE_ONLY, now, Outcome.SUCCESS, no_jitter)
        now += 0.37
    assert len(rec.buckets) <= RATE_ONLY.window_s
    assert breaker.window_totals(rec, RATE_ONLY, now) == (sum(b[1] for b in rec.buckets), 0)


def test_config_validates_and_decodes_from_json() -> None:
    with pytest.raises(ValueError, match="failure_rate"):
        BreakerConfig(failure_rate=0.0)
    with pytest.raises(ValueError, match="open_s"):
        BreakerConfig(open_s=600.0)
    cfg = msgspec.json.decode(b'{"consecutive_failures": 3}', type=BreakerConfig)
    assert cfg == BreakerConfig(consecutive_failures=3)
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"half_open_probes": 0}', type=BreakerConfig)


@pytest.mark.parametrize("jitter", [lambda: 0.0, lambda: 0.999], ids=["short", "long"])
def test_a_target_down_for_a_minute_is_probed_within_30_s_of_its_recovery(
    jitter: RandomSource,
) -> None:
    """A flapping primary: down for 60 s (every probe fails), then healthy."""
    h = Harness(jitter)
    h.trip()
    recovered_at = h.clock.monotonic() + 60.0
    while True:
        h.clock.advance(h.open_for() + 0.001)
        h.probe()
        if h.clock.monotonic() >= recovered_at:
            break
        h.fail()
    assert h.clock.monotonic() - recovered_at <= 30.0
