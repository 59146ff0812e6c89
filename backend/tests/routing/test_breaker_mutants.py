"""The breaker's pure functions called directly, for the paths the registry never takes (it
answers a closed breaker itself) and the guards that keep an open period from shrinking."""

from __future__ import annotations

import math

import pytest

from routerx.routing import breaker
from routerx.routing.breaker import (
    Admission,
    BreakerConfig,
    BreakerRecord,
    BreakerState,
    Outcome,
)

CFG = BreakerConfig(consecutive_failures=1, open_s=30.0, max_open_s=300.0, jitter=0.0)
NOW = 1_000.0


def no_jitter() -> float:
    return 0.5


def opened(until: float = NOW + 300.0) -> BreakerRecord:
    return breaker.adopt_open(BreakerRecord(), opened_at=NOW, open_until=until, reopen_count=0)


def half_open(quota: int = 2) -> BreakerRecord:
    return breaker.advance(opened(NOW + 1.0), NOW + 1.0, probe_grant=quota)


def test_a_closed_breaker_admits_without_changing() -> None:
    rec = BreakerRecord(epoch=4)
    same, admission = breaker.admit(rec, NOW, probe_grant=3)
    assert same is rec
    assert admission == Admission(True, BreakerState.CLOSED, epoch=4)


def test_an_open_breaker_refuses_with_the_time_left() -> None:
    rec = opened(NOW + 120.0)
    same, admission = breaker.admit(rec, NOW + 20.0, probe_grant=3)
    assert same is rec
    assert admission.allowed is False and admission.state is BreakerState.OPEN
    assert admission.retry_after_s == pytest.approx(100.0)
    assert admission.epoch == rec.epoch


def test_evaluate_leaves_a_breaker_that_is_not_closed_alone() -> None:
    for rec in (opened(), half_open()):
        assert breaker.evaluate(rec, CFG, NOW, no_jitter) is rec


def test_a_short_retry_after_never_shortens_an_open_period() -> None:
    rec = opened(NOW + 300.0)
    assert breaker.extend_open(rec, NOW + 1.0) is rec
    assert breaker.extend_open(rec, NOW + 300.0) is rec
    assert breaker.extend_open(rec, NOW + 400.0).open_until == NOW + 400.0


def test_extend_open_does_not_reopen_a_breaker_that_is_not_open() -> None:
    for rec in (BreakerRecord(), half_open()):
        assert breaker.extend_open(rec, NOW + 1_000.0) is rec


def test_a_retry_after_while_open_is_bounded_by_the_cap() -> None:
    cfg = BreakerConfig(max_retry_after_s=600.0)
    rec = opened(NOW + 30.0)
    extended = breaker.record(rec, cfg, NOW, Outcome.FAILURE, no_jitter, retry_after_s=86_400.0)
    assert extended.state is BreakerState.OPEN
    assert extended.open_until == NOW + 600.0
    short = breaker.record(rec, cfg, NOW, Outcome.FAILURE, no_jitter, retry_after_s=5.0)
    assert short is rec  # 5 s would end before the 30 s already decided


def test_the_default_cap_on_retry_after_is_an_hour() -> None:
    rec = breaker.record(
        BreakerRecord(), CFG, NOW, Outcome.FAILURE, no_jitter, retry_after_s=1_000_000.0
    )
    assert rec.state is BreakerState.OPEN
    assert rec.open_until == NOW + 3_600.0


@pytest.mark.parametrize("retry_after_s", [math.inf, math.nan, -5.0])
def test_a_nonsense_retry_after_counts_as_none(retry_after_s: float) -> None:
    cfg = BreakerConfig(consecutive_failures=1, open_s=0.5, max_open_s=0.5, jitter=0.0)
    rec = breaker.record(
        BreakerRecord(), cfg, NOW, Outcome.FAILURE, no_jitter, retry_after_s=retry_after_s
    )
    assert rec.open_until == NOW + 0.5


def test_a_success_or_neutral_outcome_while_open_changes_nothing() -> None:
    rec = opened()
    for outcome in (Outcome.SUCCESS, Outcome.NEUTRAL):
        assert breaker.record(rec, CFG, NOW, outcome, no_jitter, retry_after_s=900.0) is rec
    assert breaker.record(rec, CFG, NOW, Outcome.FAILURE, no_jitter) is rec


def test_grant_probes_only_in_half_open() -> None:
    for rec in (BreakerRecord(), opened()):
        assert breaker.grant_probes(rec, 2, NOW + 5.0) is rec
    granted = breaker.grant_probes(half_open(quota=0), 2, NOW + 5.0)
    assert (granted.probe_quota, granted.probe_lease_until) == (2, NOW + 5.0)


def test_revoke_probes_ends_a_round_and_keeps_the_wish_to_probe() -> None:
    rec = opened()
    assert breaker.revoke_probes(rec) is rec
    idle = half_open(quota=0)
    assert breaker.revoke_probes(idle) is idle
    rec, first = breaker.admit(half_open(quota=1), NOW + 2.0, probe_grant=0)
    rec, second = breaker.admit(rec, NOW + 2.0, probe_grant=0)
    assert first.probe is True and second.allowed is False and rec.probe_wanted is True
    revoked = breaker.revoke_probes(rec)
    assert (revoked.probe_quota, revoked.probes_admitted) == (0, 0)
    assert revoked.probe_wanted is True and revoked.epoch == rec.epoch + 1


def test_renew_probe_lease_only_for_a_round_that_exists() -> None:
    rec = opened()
    assert breaker.renew_probe_lease(rec, NOW + 9.0) is rec
    idle = half_open(quota=0)
    assert breaker.renew_probe_lease(idle, NOW + 9.0) is idle
    renewed = breaker.renew_probe_lease(half_open(quota=2), NOW + 9.0)
    assert renewed.probe_lease_until == NOW + 9.0 and renewed.probe_quota == 2


def test_standalone_drops_peer_counts_and_lets_half_open_probe_locally() -> None:
    shared = breaker.with_shared_totals(BreakerRecord(), CFG, NOW, calls=8, failures=3)
    assert (shared.peer_calls, shared.peer_failures) == (8, 3)
    alone = breaker.standalone(shared, CFG)
    assert (alone.peer_calls, alone.peer_failures, alone.state) == (0, 0, BreakerState.CLOSED)
    idle = breaker.standalone(half_open(quota=0), CFG)
    assert (idle.probe_quota, idle.probe_lease_until) == (CFG.half_open_probes, math.inf)
    leased = breaker.grant_probes(half_open(quota=0), 1, NOW + 5.0)
    kept = breaker.standalone(leased, CFG)
    assert (kept.probe_quota, kept.probe_lease_until) == (1, math.inf)


def closed_with(failures: int, successes: int = 0, cfg: BreakerConfig = CFG) -> BreakerRecord:
    rec = BreakerRecord()
    for outcome, times in ((Outcome.SUCCESS, successes), (Outcome.FAILURE, failures)):
        for _ in range(times):
            rec = breaker.record(rec, cfg, NOW, outcome, no_jitter)
    return rec


def test_evaluate_opens_on_what_peers_reported() -> None:
    cfg = BreakerConfig(min_calls=4, failure_rate=0.5, consecutive_failures=100, jitter=0.0)
    rec = closed_with(failures=1, successes=1, cfg=cfg)
    quiet = breaker.with_shared_totals(rec, cfg, NOW, calls=3, failures=1)
    assert breaker.evaluate(quiet, cfg, NOW, no_jitter).state is BreakerState.CLOSED
    failing = breaker.with_shared_totals(rec, cfg, NOW, calls=6, failures=4)
    assert (failing.peer_calls, failing.peer_failures) == (4, 3)
    tripped = breaker.evaluate(failing, cfg, NOW, no_jitter)
    assert tripped.state is BreakerState.OPEN and tripped.open_until == NOW + cfg.open_s


def test_evaluate_forgets_own_counts_that_left_the_window() -> None:
    cfg = BreakerConfig(window_s=10, min_calls=2, failure_rate=1.0, consecutive_failures=100)
    rec = closed_with(failures=1, successes=1, cfg=cfg)
    later = breaker.evaluate(rec, cfg, NOW + 10.0, no_jitter)
    assert (later.calls, later.failures, later.buckets) == (0, 0, ())
    assert later.state is BreakerState.CLOSED


def test_peer_counts_are_never_negative_nor_more_failures_than_calls() -> None:
    rec = closed_with(failures=1, successes=2, cfg=BreakerConfig(consecutive_failures=100))
    fewer = breaker.with_shared_totals(rec, CFG, NOW, calls=1, failures=0)
    assert (fewer.peer_calls, fewer.peer_failures) == (0, 0)
    odd = breaker.with_shared_totals(rec, CFG, NOW, calls=5, failures=9)
    assert (odd.peer_calls, odd.peer_failures) == (2, 2)
    assert (odd.calls, odd.failures) == (3, 1)


def test_window_totals_count_only_the_last_window_s_seconds() -> None:
    cfg = BreakerConfig(window_s=10, consecutive_failures=100)
    rec = BreakerRecord()
    for second, outcome in ((0.0, Outcome.FAILURE), (5.0, Outcome.SUCCESS), (9.5, Outcome.FAILURE)):
        rec = breaker.record(rec, cfg, NOW + second, outcome, no_jitter)
    assert breaker.window_totals(rec, cfg, NOW + 9.9) == (3, 2)
    assert breaker.window_totals(rec, cfg, NOW + 10.0) == (2, 1)  # second 0 has left
    assert breaker.window_totals(rec, cfg, NOW + 14.9) == (2, 1)  # second 5 is the oldest kept
    assert breaker.window_totals(rec, cfg, NOW + 15.0) == (1, 1)
    assert breaker.window_totals(rec, cfg, NOW + 20.0) == (0, 0)


def test_a_success_without_an_admission_counts_only_if_a_probe_is_out() -> None:
    cfg = BreakerConfig(half_open_probes=1)
    idle = half_open(quota=1)
    assert breaker.record(idle, cfg, NOW + 2.0, Outcome.SUCCESS, no_jitter) is idle
    probing, admission = breaker.admit(idle, NOW + 2.0, probe_grant=1)
    assert admission.probe is True
    closed = breaker.record(probing, cfg, NOW + 2.0, Outcome.SUCCESS, no_jitter)
    assert closed.state is BreakerState.CLOSED


def test_the_view_shows_an_expired_open_period_as_half_open_in_wall_clock_time() -> None:
    cfg = BreakerConfig()
    rec = opened(NOW + 30.0)
    wall = 1_700_000_000.0
    during = breaker.view(rec, cfg, NOW + 10.0, wall)
    assert during.state is BreakerState.OPEN
    assert (during.opened_at, during.open_until) == (wall - 10.0, wall + 20.0)
    after = breaker.view(rec, cfg, NOW + 30.0, wall)
    assert after.state is BreakerState.HALF_OPEN and after.open_until == wall
    calm = breaker.view(BreakerRecord(), cfg, NOW, wall)
    assert (calm.state, calm.opened_at, calm.open_until) == (BreakerState.CLOSED, None, None)


def test_an_adopted_open_period_drops_peer_counts_and_starts_a_regime() -> None:
    rec = breaker.with_shared_totals(BreakerRecord(epoch=3), CFG, NOW, calls=9, failures=9)
    adopted = breaker.adopt_open(rec, opened_at=NOW - 5.0, open_until=NOW + 50.0, reopen_count=2)
    assert adopted.state is BreakerState.OPEN and adopted.epoch == 4
    assert (adopted.opened_at, adopted.open_until, adopted.reopen_count) == (
        NOW - 5.0,
        NOW + 50.0,
        2,
    )
    assert (adopted.peer_calls, adopted.peer_failures, adopted.probe_quota) == (0, 0, 0)


def test_the_doubling_wait_is_capped_even_after_very_many_reopens() -> None:
    cfg = BreakerConfig(open_s=1.0, max_open_s=300.0, jitter=0.0, steady_reopens=2)
    assert breaker.open_duration(cfg, 2, no_jitter) == 1.0  # still within the steady re-opens
    assert breaker.open_duration(cfg, 5, no_jitter) == 8.0
    assert breaker.open_duration(cfg, 10_000, no_jitter) == 300.0


def test_a_probe_lease_ends_at_its_instant() -> None:
    leased = breaker.grant_probes(half_open(quota=0), 2, NOW + 5.0)
    inside, probe = breaker.admit(leased, NOW + 4.999, probe_grant=0)
    assert probe.probe is True
    _, expired = breaker.admit(inside, NOW + 5.0, probe_grant=0)
    assert expired.allowed is False and expired.probe is False


def test_a_fresh_or_reset_breaker_reports_no_probes() -> None:
    cfg = BreakerConfig(half_open_probes=1)
    _, admission = breaker.admit(half_open(quota=1), NOW + 2.0, probe_grant=1)
    probing = breaker.admit(half_open(quota=1), NOW + 2.0, probe_grant=1)[0]
    closed = breaker.record(
        probing, cfg, NOW + 2.0, Outcome.SUCCESS, no_jitter, admission=admission
    )
    for rec in (BreakerRecord(), closed):
        shown = breaker.view(rec, cfg, NOW + 2.0, 1_700_000_000.0)
        assert shown.state is BreakerState.CLOSED
        assert (shown.probes_admitted, shown.probes_succeeded, shown.reopen_count) == (0, 0, 0)
        assert (shown.calls_in_window, shown.consecutive_failures) == (0, 0)


def test_breaker_values_are_immutable_and_built_by_keyword() -> None:
    values: list[tuple[object, str]] = [
        (BreakerConfig(), "open_s"),
        (BreakerRecord(), "epoch"),
        (Admission(True, BreakerState.CLOSED), "epoch"),
        (breaker.view(BreakerRecord(), CFG, NOW, NOW), "state"),
    ]
    for value, field in values:
        with pytest.raises(AttributeError):
            setattr(value, field, 1)
    with pytest.raises(TypeError):
        BreakerConfig(60)  # type: ignore[misc]
    with pytest.raises(TypeError):
        BreakerRecord(BreakerState.OPEN)  # type: ignore[misc]
    with pytest.raises(TypeError):
        breaker.BreakerView(BreakerState.OPEN, 0, 0, 0, None, None, 0, 0, 0)  # type: ignore[misc]


def test_outcomes_admitted_before_a_trip_and_reset_are_ignored_after_it() -> None:
    rec = BreakerRecord()
    rec, in_flight = breaker.admit(rec, NOW, probe_grant=1)
    rec = breaker.record(rec, CFG, NOW, Outcome.FAILURE, no_jitter)  # another request trips it
    assert rec.state is BreakerState.OPEN
    reset = breaker.close(rec)
    late = breaker.record(reset, CFG, NOW, Outcome.FAILURE, no_jitter, admission=in_flight)
    assert late is reset and late.state is BreakerState.CLOSED


def test_a_new_half_open_period_wants_no_probe_until_a_request_asks() -> None:
    entered = breaker.advance(opened(NOW + 1.0), NOW + 1.0, probe_grant=0)
    assert entered.state is BreakerState.HALF_OPEN and entered.probe_wanted is False
    asked, refused = breaker.admit(entered, NOW + 1.0, probe_grant=0)
    assert refused.allowed is False and asked.probe_wanted is True
    regranted = breaker.grant_probes(asked, 1, NOW + 5.0)
    assert regranted.probe_wanted is False and regranted.probe_quota == 1


def test_a_probe_in_flight_when_the_breaker_is_reset_is_ignored_after_it() -> None:
    probing, probe = breaker.admit(half_open(quota=1), NOW + 2.0, probe_grant=1)
    assert probe.probe is True
    reset = breaker.close(probing)
    late = breaker.record(reset, CFG, NOW + 2.0, Outcome.FAILURE, no_jitter, admission=probe)
    assert late is reset and late.state is BreakerState.CLOSED


def test_the_view_adds_what_peers_reported() -> None:
    rec = closed_with(failures=1, successes=2, cfg=BreakerConfig(consecutive_failures=100))
    shared = breaker.with_shared_totals(rec, CFG, NOW, calls=7, failures=0)
    assert (shared.peer_calls, shared.peer_failures) == (4, 0)  # fewer failures than ours: none
    shown = breaker.view(shared, CFG, NOW, NOW)
    assert (shown.calls_in_window, shown.failures_in_window) == (7, 1)
    more = breaker.with_shared_totals(rec, CFG, NOW, calls=7, failures=3)
    assert breaker.view(more, CFG, NOW, NOW).failures_in_window == 3


def test_the_smallest_valid_config_is_accepted() -> None:
    cfg = BreakerConfig(window_s=1, min_calls=1, consecutive_failures=1, half_open_probes=1)
    assert (cfg.window_s, cfg.min_calls) == (1, 1)
    with pytest.raises(ValueError, match="window_s must be >= 1; min_calls must be >= 1"):
        BreakerConfig(window_s=0, min_calls=0)


@pytest.mark.parametrize(
    "edge",
    [
        {"consecutive_failures": 1},
        {"open_s": 5.0, "max_open_s": 5.0},
        {"jitter": 0.0},
        {"jitter": 0.99},
        {"failure_rate": 1.0},
        {"max_retry_after_s": 0.0},
        {"max_retry_after_s": 0.5},
        {"steady_reopens": 0},  # doubling from the first re-open
    ],
)
def test_config_edges_that_are_valid(edge: dict[str, float]) -> None:
    BreakerConfig(**edge)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("edge", "problem"),
    [
        ({"consecutive_failures": 0}, "consecutive_failures"),
        ({"open_s": 0.0}, "open_s"),
        ({"jitter": 1.0}, "jitter"),
        ({"jitter": 1.5}, "jitter"),
        ({"failure_rate": 1.5}, "failure_rate"),
        ({"max_retry_after_s": -0.1}, "max_retry_after_s"),
        ({"steady_reopens": -1}, "steady_reopens"),
    ],
)
def test_config_edges_that_are_refused(edge: dict[str, float], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        BreakerConfig(**edge)  # type: ignore[arg-type]
