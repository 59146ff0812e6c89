"""What became of a request, read from its log row: the one vocabulary the request log, the
trace and the statistics share.

A 200 is not always a success: a stream the upstream cut after its first chunk was answered
with 200 and ended with an error event (its row carries that event's status, so it is
interrupted whatever the status says), and a request served by a non-primary target is a
fallback. A fallback flag on a failed request (every target failed) is not a fallback: nothing
was served.
"""

from __future__ import annotations

import enum
from typing import Any

import msgspec
from tortoise.expressions import Q

STREAM_INTERRUPTED = "stream_interrupted"
RATE_LIMITED_STATUS = 429
CLIENT_CLOSED_STATUS = 499


class Outcome(enum.StrEnum):
    SUCCESS = "success"  # served by the primary target
    FALLBACK = "fallback"  # served by a non-primary target
    INTERRUPTED = "interrupted"  # a stream that started and was cut by the upstream
    REFUSED = "refused"  # a 4xx other than 429 and 499: bad key, bad request, unknown model
    RATE_LIMITED = "rate_limited"  # 429
    CANCELLED = "cancelled"  # the client went away (499)
    FAILED = "failed"  # 5xx: nothing was served


# The 4xx answers: the client's request was refused, limited, or the client went away.
CLIENT_ERROR_OUTCOMES = frozenset({Outcome.REFUSED, Outcome.RATE_LIMITED, Outcome.CANCELLED})


def outcome_of(status: int, error_type: str | None, fallback: bool) -> Outcome:
    if error_type == STREAM_INTERRUPTED:
        return Outcome.INTERRUPTED
    if status >= 500 or status < 100:
        return Outcome.FAILED
    if status == RATE_LIMITED_STATUS:
        return Outcome.RATE_LIMITED
    if status == CLIENT_CLOSED_STATUS:
        return Outcome.CANCELLED
    if status >= 400:
        return Outcome.REFUSED
    return Outcome.FALLBACK if fallback else Outcome.SUCCESS


def _not_interrupted() -> Q:
    # SQL's NULL <> 'x' is not true: a NULL error type must be allowed explicitly.
    return Q(error_type__isnull=True) | Q(error_type__not=STREAM_INTERRUPTED)


def _answered() -> Q:
    return Q(status__gte=100, status__lt=400)


def _status_unless_interrupted(status: Q) -> Q:
    return Q(status, _not_interrupted())


def outcome_filter(outcome: Outcome) -> Q:
    """The same classification as `outcome_of`, as a database filter."""
    match outcome:
        case Outcome.FAILED:
            return _status_unless_interrupted(Q(status__gte=500) | Q(status__lt=100))
        case Outcome.RATE_LIMITED:
            return _status_unless_interrupted(Q(status=RATE_LIMITED_STATUS))
        case Outcome.CANCELLED:
            return _status_unless_interrupted(Q(status=CLIENT_CLOSED_STATUS))
        case Outcome.REFUSED:
            return _status_unless_interrupted(
                Q(
                    Q(status__gte=400, status__lt=500),
                    ~Q(status__in=[RATE_LIMITED_STATUS, CLIENT_CLOSED_STATUS]),
                )
            )
        case Outcome.INTERRUPTED:
            return Q(error_type=STREAM_INTERRUPTED)
        case Outcome.FALLBACK:
            return Q(_answered(), _not_interrupted(), Q(fallback=True))
        case Outcome.SUCCESS:
            return Q(_answered(), _not_interrupted(), Q(fallback=False))


class OutcomeCounts(msgspec.Struct):
    """Requests by outcome; `refused` + `rate_limited` + `cancelled` are the 4xx answers,
    `failed` the 5xx."""

    requests: int = 0
    success: int = 0
    fallback: int = 0
    interrupted: int = 0
    refused: int = 0
    rate_limited: int = 0
    cancelled: int = 0
    failed: int = 0

    def add(self, outcome: Outcome) -> None:
        self.requests += 1
        name = outcome.value
        setattr(self, name, getattr(self, name) + 1)


class TenantOutcomes(msgspec.Struct):
    tenant_id: int | None
    outcomes: OutcomeCounts


def tenant_outcomes(counts: dict[Any, OutcomeCounts]) -> list[TenantOutcomes]:
    """Busiest tenant first; requests without a tenant (no valid key) last."""
    ordered = sorted(
        counts.items(), key=lambda item: (item[0] is None, -item[1].requests, item[0] or 0)
    )
    return [TenantOutcomes(tenant_id, outcomes) for tenant_id, outcomes in ordered]
