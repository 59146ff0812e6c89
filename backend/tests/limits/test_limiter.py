"""The limiter in one process, on a fake clock: windows, scopes, tokens, headers, memory."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import REGISTRY

from routerx.core.snapshot import KeyEntry, TenantEntry
from routerx.limits import UNLIMITED, Decision, Limits, RateLimiter, build_limiter, format_reset
from routerx.limits.window import wait_to_fit
from tests.limits.conftest import minute_clock

TENANT, KEY = 1, 10


def ask(
    limiter: RateLimiter,
    tenant: Limits = UNLIMITED,
    key: Limits = UNLIMITED,
    tokens: int = 0,
    *,
    key_id: int = KEY,
    tenant_id: int = TENANT,
) -> Decision:
    return limiter.check_and_reserve(tenant_id, tenant, key_id, key, tokens)


def allowed(limiter: RateLimiter, times: int, **kwargs: object) -> list[bool]:
    return [ask(limiter, **kwargs).allowed for _ in range(times)]  # type: ignore[arg-type]


def header(decision: Decision, name: str) -> str | None:
    values = [v.decode() for k, v in decision.headers if k == f"x-ratelimit-{name}".encode()]
    assert len(values) <= 1
    return values[0] if values else None


def refusals(scope: str, limit: str) -> float:
    value = REGISTRY.get_sample_value(
        "routerx_rate_limited_total", {"scope": scope, "limit": limit}
    )
    return value or 0.0


def test_rpm_allows_the_limit_then_refuses_until_a_retry_fits() -> None:
    clock = minute_clock()
    limiter = RateLimiter(clock=clock)
    key = Limits(rpm=3)
    assert allowed(limiter, 4, key=key) == [True, True, True, False]
    refused = ask(limiter, key=key)
    assert (refused.scope, refused.limit, refused.reservation) == ("key", "rpm", None)
    # The 3 requests of this minute weigh 2/3 of themselves 20 s into the next one.
    assert refused.retry_after_s == pytest.approx(80.0, abs=0.01)
    assert refused.retry_after_s is not None
    clock.advance(refused.retry_after_s - 0.01)
    assert not ask(limiter, key=key).allowed
    clock.advance(0.01)
    assert ask(limiter, key=key).allowed


def test_a_retry_can_fit_within_the_same_minute() -> None:
    clock = minute_clock()
    limiter = RateLimiter(clock=clock)
    tenant = Limits(rpm=4)
    assert allowed(limiter, 4, tenant=tenant) == [True] * 4
    clock.advance(90)  # half of the previous minute is still in the window: 2 requests
    assert allowed(limiter, 3, tenant=tenant) == [True, True, False]
    refused = ask(limiter, tenant=tenant)
    assert (refused.scope, refused.limit) == ("tenant", "rpm")
    # Fits once the previous minute weighs 1 request: 45 s into this one.
    assert refused.retry_after_s == pytest.approx(15.0, abs=0.01)


def test_the_previous_minute_weighs_less_as_the_window_slides() -> None:
    clock = minute_clock()
    limiter = RateLimiter(clock=clock)
    key = Limits(rpm=10)
    assert allowed(limiter, 11, key=key) == [True] * 10 + [False]
    clock.advance(60 + 30)  # previous minute weighs 5
    assert allowed(limiter, 6, key=key) == [True] * 5 + [False]
    clock.advance(24)  # previous minute weighs 1, this one holds 5
    assert allowed(limiter, 5, key=key) == [True] * 4 + [False]
    clock.advance(60)  # the first minute is out of the window
    assert allowed(limiter, 2, key=key) == [True, True]


def test_tokens_count_the_estimate_until_settled_up_or_down() -> None:
    limiter = RateLimiter(clock=minute_clock())
    key = Limits(tpm=1000)
    first = ask(limiter, key=key, tokens=600)
    assert first.allowed and header(first, "remaining-tokens") == "400"
    refused = ask(limiter, key=key, tokens=600)
    assert (refused.allowed, refused.scope, refused.limit) == (False, "key", "tpm")
    limiter.settle(first.reservation, 200)
    second = ask(limiter, key=key, tokens=600)
    assert second.allowed and header(second, "remaining-tokens") == "200"
    limiter.settle(second.reservation, 750)  # more than estimated
    assert header(ask(limiter, key=key, tokens=50), "remaining-tokens") == "0"
    assert not ask(limiter, key=key, tokens=1).allowed


def test_a_settle_counts_once() -> None:
    limiter = RateLimiter(clock=minute_clock())
    key = Limits(tpm=1000)
    decision = ask(limiter, key=key, tokens=500)
    for _ in range(3):
        limiter.settle(decision.reservation, 100)
    assert header(ask(limiter, key=key, tokens=0), "remaining-tokens") == "900"


def test_a_failed_request_settles_to_no_tokens_but_still_counts() -> None:
    limiter = RateLimiter(clock=minute_clock())
    key = Limits(rpm=2, tpm=1000)
    failed = ask(limiter, key=key, tokens=900)
    limiter.settle(failed.reservation, 0)
    second = ask(limiter, key=key, tokens=900)
    assert second.allowed
    assert header(second, "remaining-requests") == "0"
    assert header(second, "remaining-tokens") == "100"
    assert not ask(limiter, key=key, tokens=0).allowed


def test_a_late_settle_charges_the_excess_to_the_current_minute() -> None:
    clock = minute_clock()
    limiter = RateLimiter(clock=clock)
    key = Limits(tpm=1000)
    long_stream = ask(limiter, key=key, tokens=100)
    clock.advance(150)  # its minute has left the window
    limiter.settle(long_stream.reservation, 400)
    assert header(ask(limiter, key=key, tokens=0), "remaining-tokens") == "700"


def test_a_late_refund_is_dropped() -> None:
    clock = minute_clock()
    limiter = RateLimiter(clock=clock)
    key = Limits(tpm=1000)
    ask(limiter, key=key, tokens=0)
    long_stream = ask(limiter, key=key, tokens=600)
    clock.advance(150)
    limiter.settle(long_stream.reservation, 0)
    assert header(ask(limiter, key=key, tokens=100), "remaining-tokens") == "900"


def test_a_request_larger_than_the_token_limit_never_fits() -> None:
    limiter = RateLimiter(clock=minute_clock())
    refused = ask(limiter, tenant=Limits(tpm=1000), tokens=1001)
    assert (refused.allowed, refused.scope, refused.limit) == (False, "tenant", "tpm")
    assert refused.retry_after_s is None


def test_the_tighter_scope_refuses_and_is_named() -> None:
    limiter = RateLimiter(clock=minute_clock())
    tenant, key = Limits(rpm=5), Limits(rpm=2)
    assert allowed(limiter, 3, tenant=tenant, key=key) == [True, True, False]
    assert ask(limiter, tenant=tenant, key=key).scope == "key"
    roomy, other_key = Limits(rpm=10), 11
    assert allowed(limiter, 4, tenant=tenant, key=roomy, key_id=other_key) == [True] * 3 + [False]
    refused = ask(limiter, tenant=tenant, key=roomy, key_id=other_key)
    assert (refused.scope, refused.limit) == ("tenant", "rpm")


def test_the_refusal_named_is_the_one_that_lasts_longest() -> None:
    clock = minute_clock()
    limiter = RateLimiter(clock=clock)
    tenant, key = Limits(tpm=1000), Limits(tpm=900)
    ask(limiter, tenant=tenant, key=key, tokens=500, key_id=11)
    ask(limiter, tenant=tenant, key=key, tokens=400)
    clock.advance(30)
    refused = ask(limiter, tenant=tenant, key=key, tokens=600)
    # Both are exceeded: the key's 400 must weigh 300 (45 s from now), the tenant's 900
    # must weigh 400 (63.3 s from now); the later one is what a retry has to wait for.
    assert (refused.scope, refused.limit) == ("tenant", "tpm")
    assert refused.retry_after_s == pytest.approx(30 + 60 * 5 / 9, abs=0.01)


def test_refusals_are_counted_by_scope_and_limit() -> None:
    limiter = RateLimiter(clock=minute_clock())
    before = refusals("key", "tpm"), refusals("tenant", "rpm")
    ask(limiter, key=Limits(tpm=10), tokens=11)
    ask(limiter, tenant=Limits(rpm=1))
    ask(limiter, tenant=Limits(rpm=1))
    assert (refusals("key", "tpm"), refusals("tenant", "rpm")) == (before[0] + 1, before[1] + 1)


def test_headers_show_the_most_restrictive_scope_per_dimension() -> None:
    limiter = RateLimiter(clock=minute_clock())
    tenant, key = Limits(rpm=100, tpm=1000), Limits(rpm=10, tpm=50_000)
    decision = ask(limiter, tenant=tenant, key=key, tokens=300)
    assert decision.headers == [
        (b"x-ratelimit-limit-requests", b"10"),
        (b"x-ratelimit-remaining-requests", b"9"),
        (b"x-ratelimit-reset-requests", b"2m0s"),
        (b"x-ratelimit-limit-tokens", b"1000"),
        (b"x-ratelimit-remaining-tokens", b"700"),
        (b"x-ratelimit-reset-tokens", b"2m0s"),
    ]


def test_reset_is_when_the_window_is_whole_again() -> None:
    clock = minute_clock()
    limiter = RateLimiter(clock=clock)
    key = Limits(rpm=10, tpm=1000)
    ask(limiter, key=key, tokens=100)
    clock.advance(100)  # 40 s into the next minute
    decision = ask(limiter, key=key, tokens=0)
    assert header(decision, "reset-requests") == "1m20s"  # this request counts till then
    assert header(decision, "reset-tokens") == "20s"  # the 100 tokens leave in 20 s
    clock.advance(19.5)
    assert header(ask(limiter, key=key), "reset-tokens") == "500ms"
    clock.advance(0.5)
    assert header(ask(limiter, key=key), "reset-tokens") == "0s"


def test_a_refusal_still_reports_the_headers() -> None:
    limiter = RateLimiter(clock=minute_clock())
    key = Limits(rpm=1)
    ask(limiter, key=key)
    refused = ask(limiter, key=key)
    assert not refused.allowed
    assert header(refused, "remaining-requests") == "0"
    assert header(refused, "limit-requests") == "1"


def test_unlimited_dimensions_have_no_headers() -> None:
    limiter = RateLimiter(clock=minute_clock())
    only_requests = ask(limiter, tenant=Limits(rpm=5), tokens=100)
    assert [name for name, _ in only_requests.headers] == [
        b"x-ratelimit-limit-requests",
        b"x-ratelimit-remaining-requests",
        b"x-ratelimit-reset-requests",
    ]
    free = ask(limiter, tenant=UNLIMITED, key=UNLIMITED, tokens=100, tenant_id=2, key_id=20)
    assert (free.allowed, free.headers, free.reservation) == (True, [], None)
    limiter.settle(free.reservation, 5)
    assert limiter.tracked_subjects == 1  # the unlimited tenant and key hold no state


def test_limits_come_from_snapshot_entries() -> None:
    tenant = TenantEntry(id=1, name="t", active=True, allowed_models=frozenset(), rpm_limit=60)
    key = KeyEntry(id=2, tenant=tenant, tpm_limit=1000)
    assert (Limits.of(tenant), Limits.of(key)) == (Limits(rpm=60), Limits(tpm=1000))


async def test_without_redis_the_limiter_is_exact_and_local() -> None:
    limiter = build_limiter("", clock=minute_clock())
    assert limiter.status == "disabled"
    await limiter.start()
    assert allowed(limiter, 3, key=Limits(rpm=2)) == [True, True, False]
    assert await limiter.sync_once()
    await limiter.stop()


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.02, "20ms"),
        (0.0201, "21ms"),
        (0.9999, "1s"),
        (1, "1s"),
        (1.2, "2s"),
        (59, "59s"),
        (59.2, "1m0s"),
        (60, "1m0s"),
        (90, "1m30s"),
        (360, "6m0s"),
        (3600, "1h0m0s"),
        (7322, "2h2m2s"),
    ],
)
def test_reset_durations_are_written_like_openai(seconds: float, text: str) -> None:
    assert format_reset(seconds) == text.encode()


def test_idle_subjects_are_evicted() -> None:
    clock = minute_clock()
    limiter = RateLimiter(clock=clock)
    for key_id in range(1000):
        ask(limiter, tenant=Limits(rpm=5), key=Limits(rpm=5), tenant_id=key_id, key_id=key_id)
    assert limiter.tracked_subjects == 2000
    clock.advance(60)  # their counts still weigh in the window
    ask(limiter, key=Limits(rpm=5), key_id=5000)
    assert limiter.tracked_subjects == 2001
    clock.advance(60)  # now they do not: each call drops some, not all at once
    ask(limiter, key=Limits(rpm=5), key_id=5001)
    assert limiter.tracked_subjects == 2001 - 2 * 64 + 1
    for _ in range(20):
        ask(limiter, key=Limits(rpm=5), key_id=5001)
    assert limiter.tracked_subjects == 2


def test_a_subject_in_use_is_kept() -> None:
    clock = minute_clock()
    limiter = RateLimiter(clock=clock)
    key = Limits(rpm=3)
    for _ in range(5):
        assert ask(limiter, key=key).allowed
        clock.advance(60)
    assert limiter.tracked_subjects == 1


@given(
    previous=st.integers(0, 300),
    current=st.integers(0, 300),
    limit=st.integers(1, 300),
    cost=st.integers(0, 300),
    offset=st.floats(0, 59.999),
)
def test_a_retry_fits_after_the_wait_and_not_much_before(
    previous: int, current: int, limit: int, cost: int, offset: float
) -> None:
    def usage_after(wait_s: float) -> float:
        at = offset + wait_s
        if at < 60:
            return previous * (1 - at / 60) + current
        return current * max(1 - (at - 60) / 60, 0.0) if at < 120 else 0.0

    if usage_after(0) + cost <= limit:
        return  # it fits already: no wait is asked for
    wait_s = wait_to_fit(previous, current, cost, limit, offset)
    if cost > limit:
        assert wait_s is None
        return
    assert wait_s is not None and wait_s > 0
    assert usage_after(wait_s) + cost <= limit
    if wait_s > 0.01:
        assert usage_after(wait_s - 0.01) + cost > limit
