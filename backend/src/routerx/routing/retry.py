"""Retry helpers: exponential backoff with full jitter, Retry-After parsing, outcome mapping."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Mapping
from datetime import UTC
from email.utils import parsedate_to_datetime

from routerx.routing.breaker import Outcome, RandomSource

_DECIMAL = re.compile(r"\d+(?:\.\d+)?")
_MAX_DOUBLINGS = 64


def backoff_delay(
    attempt: int,
    *,
    base_s: float = 0.5,
    cap_s: float = 30.0,
    rng: RandomSource = random.random,
) -> float:
    """Delay before retry number `attempt` (0 for the first retry).

    Full jitter: uniform in [0, min(cap_s, base_s * 2**attempt)], so the delay never
    exceeds the cap and concurrent clients do not retry in lockstep.
    """
    if attempt < 0:
        raise ValueError("attempt must be >= 0")
    ceiling = min(cap_s, base_s * 2.0 ** min(attempt, _MAX_DOUBLINGS))
    return rng() * ceiling


def parse_retry_after(headers: Mapping[str, str], now_wall: float) -> float | None:
    """Seconds the upstream asked us to wait, or None if it did not say (or said garbage).

    `retry-after-ms` (milliseconds, used by OpenAI and Azure) wins over `Retry-After`,
    which is either delta seconds or an HTTP-date. Dates in the past give 0.
    """
    millis = _non_negative_number(_header(headers, "retry-after-ms"))
    if millis is not None:
        return millis / 1000.0
    raw = _header(headers, "retry-after")
    if raw is None:
        return None
    seconds = _non_negative_number(raw)
    if seconds is not None:
        return seconds
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now_wall)


def classify_status(status: int) -> Outcome:
    """How an upstream HTTP status counts for the breaker.

    Connection errors, timeouts and error events inside a 200 stream have no status here:
    callers record those as Outcome.FAILURE, and client disconnects as Outcome.NEUTRAL.
    """
    if status in (408, 429) or status >= 500:
        return Outcome.FAILURE
    if 400 <= status < 500:
        return Outcome.NEUTRAL
    if 100 <= status < 400:
        return Outcome.SUCCESS
    return Outcome.FAILURE  # not an HTTP status at all: the upstream is misbehaving


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    for key, candidate in headers.items():
        if key.lower() == name:
            return candidate
    return None


def _non_negative_number(raw: str | None) -> float | None:
    if raw is None:
        return None
    text = raw.strip()
    if not _DECIMAL.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None
