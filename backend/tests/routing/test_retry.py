from __future__ import annotations

from email.utils import formatdate

import pytest

from routerx.routing.breaker import Outcome
from routerx.routing.retry import backoff_delay, classify_status, parse_retry_after

NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "120"}, 120.0),
        ({"Retry-After": " 7 "}, 7.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after": "0"}, 0.0),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "250", "retry-after": "30"}, 0.25),
        ({"Retry-After-Ms": "20"}, 0.02),
    ],
)
def test_delta_seconds_and_milliseconds(headers: dict[str, str], expected: float) -> None:
    assert parse_retry_after(headers, NOW) == pytest.approx(expected)


def test_http_date() -> None:
    headers = {"Retry-After": formatdate(NOW + 90, usegmt=True)}
    assert parse_retry_after(headers, NOW) == pytest.approx(90.0)


def test_http_date_in_the_past_means_now() -> None:
    headers = {"retry-after": formatdate(NOW - 90, usegmt=True)}
    assert parse_retry_after(headers, NOW) == 0.0


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"retry-after": "soon"},
        {"retry-after": "-5"},
        {"retry-after": ""},
        {"retry-after": "nan"},
        {"retry-after": "inf"},
        {"retry-after": "1e3"},
        {"retry-after": "Mon, 99 Foo 2024 99:99:99 GMT"},
        {"retry-after-ms": "later"},
        {"content-type": "application/json"},
    ],
)
def test_garbage_gives_none(headers: dict[str, str]) -> None:
    assert parse_retry_after(headers, NOW) is None


def test_garbage_milliseconds_fall_back_to_retry_after() -> None:
    assert parse_retry_after({"retry-after-ms": "x", "retry-after": "4"}, NOW) == 4.0


@pytest.mark.parametrize("attempt", range(12))
def test_backoff_stays_between_zero_and_the_capped_exponential(attempt: int) -> None:
    ceiling = min(10.0, 0.5 * 2**attempt)
    assert backoff_delay(attempt, base_s=0.5, cap_s=10.0, rng=lambda: 0.0) == 0.0
    top = backoff_delay(attempt, base_s=0.5, cap_s=10.0, rng=lambda: 0.999999)
    assert ceiling * 0.999 < top <= ceiling


def test_backoff_is_capped_even_for_huge_attempts() -> None:
    assert backoff_delay(10_000, cap_s=30.0, rng=lambda: 0.999999) <= 30.0


def test_backoff_rejects_negative_attempts() -> None:
    with pytest.raises(ValueError, match="attempt"):
        backoff_delay(-1)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Outcome.SUCCESS),
        (204, Outcome.SUCCESS),
        (304, Outcome.SUCCESS),
        (400, Outcome.NEUTRAL),
        (401, Outcome.NEUTRAL),
        (404, Outcome.NEUTRAL),
        (422, Outcome.NEUTRAL),
        (499, Outcome.NEUTRAL),
        (408, Outcome.FAILURE),
        (429, Outcome.FAILURE),
        (500, Outcome.FAILURE),
        (502, Outcome.FAILURE),
        (503, Outcome.FAILURE),
        (529, Outcome.FAILURE),
        (0, Outcome.FAILURE),
    ],
)
def test_classify_status(status: int, outcome: Outcome) -> None:
    assert classify_status(status) is outcome
