"""The circuit breaker as data: an immutable record and pure functions returning the next one.

No I/O and no asyncio. Callers pass the current monotonic time (`now`) and a random source
for jitter, which keeps every transition reproducible in tests.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable

import msgspec
from msgspec.structs import replace

RandomSource = Callable[[], float]
"""Returns a float in [0, 1), like `random.random`."""

Bucket = tuple[int, int, int]
"""One second of the sliding window: (second, calls, failures)."""

_MAX_DOUBLINGS = 32  # 2**32 * any sane base is far beyond max_open_s; avoids float overflow


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class Outcome(enum.StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    NEUTRAL = "neutral"


# Enum attribute lookups cost ~0.1 us each on Python 3.11; admit/record run per request.
_CLOSED, _OPEN, _HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN
_SUCCESS, _FAILURE, _NEUTRAL = Outcome.SUCCESS, Outcome.FAILURE, Outcome.NEUTRAL


class BreakerConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Per-provider tuning; the defaults are the gateway policy."""

    window_s: int = 60
    min_calls: int = 10
    failure_rate: float = 0.5
    consecutive_failures: int = 5
    open_s: float = 20.0  # with the jitter, a recovered target is probed within 22 s
    max_open_s: float = 300.0
    jitter: float = 0.1
    half_open_probes: int = 3
    max_retry_after_s: float = 3600.0
    # Failed probes that re-open for open_s again before the wait starts doubling: a short
    # outage is not followed by long minutes without the recovered target.
    steady_reopens: int = 3

    def __post_init__(self) -> None:
        problems = [
            message
            for failed, message in (
                (self.window_s < 1, "window_s must be >= 1"),
                (self.min_calls < 1, "min_calls must be >= 1"),
                (not 0.0 < self.failure_rate <= 1.0, "failure_rate must be in (0, 1]"),
                (self.consecutive_failures < 1, "consecutive_failures must be >= 1"),
                (not 0.0 < self.open_s <= self.max_open_s, "need 0 < open_s <= max_open_s"),
                (not 0.0 <= self.jitter < 1.0, "jitter must be in [0, 1)"),
                (self.half_open_probes < 1, "half_open_probes must be >= 1"),
                (self.max_retry_after_s < 0.0, "max_retry_after_s must be >= 0"),
                (self.steady_reopens < 0, "steady_reopens must be >= 0"),
            )
            if failed
        ]
        if problems:
            raise ValueError("; ".join(problems))


class Admission(msgspec.Struct, frozen=True):
    """The hot-path answer: may this request go to the target now?

    `epoch` identifies the breaker regime the request was admitted under; passing the
    Admission back to `record` lets late outcomes from an earlier regime be ignored.
    """

    allowed: bool
    state: BreakerState
    probe: bool = False
    retry_after_s: float | None = None
    epoch: int = 0


class BreakerRecord(msgspec.Struct, frozen=True, kw_only=True):
    """Everything one breaker knows. Times are monotonic seconds."""

    state: BreakerState = BreakerState.CLOSED
    epoch: int = 0
    buckets: tuple[Bucket, ...] = ()
    calls: int = 0
    failures: int = 0
    peer_calls: int = 0
    peer_failures: int = 0
    consecutive_failures: int = 0
    opened_at: float = 0.0
    open_until: float = 0.0
    reopen_count: int = 0
    probe_quota: int = 0
    probe_lease_until: float = math.inf
    probes_admitted: int = 0
    probes_succeeded: int = 0
    probe_wanted: bool = False


class BreakerView(msgspec.Struct, frozen=True, kw_only=True):
    """Read-only snapshot for the admin API. Times are wall-clock seconds."""

    state: BreakerState
    calls_in_window: int
    failures_in_window: int
    consecutive_failures: int
    opened_at: float | None
    open_until: float | None
    reopen_count: int
    probes_admitted: int
    probes_succeeded: int


def admit(rec: BreakerRecord, now: float, *, probe_grant: int) -> tuple[BreakerRecord, Admission]:
    """Decides one request. `probe_grant` is the probe quota a fresh half-open period gets."""
    if rec.state is _CLOSED:
        return rec, Admission(True, _CLOSED, epoch=rec.epoch)
    rec = advance(rec, now, probe_grant=probe_grant)
    if rec.state is _OPEN:
        return rec, Admission(False, _OPEN, retry_after_s=rec.open_until - now, epoch=rec.epoch)
    if rec.probes_admitted < rec.probe_quota and now < rec.probe_lease_until:
        rec = replace(rec, probes_admitted=rec.probes_admitted + 1)
        return rec, Admission(True, _HALF_OPEN, probe=True, epoch=rec.epoch)
    if not rec.probe_wanted:
        rec = replace(rec, probe_wanted=True)
    return rec, Admission(False, _HALF_OPEN, epoch=rec.epoch)


def record(
    rec: BreakerRecord,
    cfg: BreakerConfig,
    now: float,
    outcome: Outcome,
    rng: RandomSource,
    *,
    retry_after_s: float | None = None,
    admission: Admission | None = None,
) -> BreakerRecord:
    """Accounts for the outcome of one request and applies any transition it causes."""
    if rec.state is _CLOSED:
        if outcome is _NEUTRAL or (admission is not None and admission.epoch != rec.epoch):
            return rec
        return _record_closed(
            rec, cfg, now, rng, failed=outcome is _FAILURE, retry_after_s=retry_after_s
        )
    if rec.state is _OPEN:
        if outcome is _FAILURE and retry_after_s is not None:
            return extend_open(rec, now + _bounded_retry_after(cfg, retry_after_s))
        return rec
    if not _is_probe_result(rec, admission):
        return rec
    if outcome is _NEUTRAL:
        return replace(rec, probes_admitted=rec.probes_admitted - 1)
    if outcome is _SUCCESS:
        if rec.probes_succeeded + 1 >= cfg.half_open_probes:
            return close(rec)
        return replace(rec, probes_succeeded=rec.probes_succeeded + 1)
    return _open(rec, cfg, now, rng, reopen_count=rec.reopen_count + 1, retry_after_s=retry_after_s)


def advance(rec: BreakerRecord, now: float, *, probe_grant: int) -> BreakerRecord:
    """Moves an open breaker whose wait is over to half-open."""
    if rec.state is not _OPEN or now < rec.open_until:
        return rec
    return _with_probe_round(
        replace(rec, state=_HALF_OPEN), quota=probe_grant, lease_until=math.inf
    )


def evaluate(
    rec: BreakerRecord, cfg: BreakerConfig, now: float, rng: RandomSource
) -> BreakerRecord:
    """Opens a closed breaker whose window (peers included) crossed a threshold."""
    if rec.state is not _CLOSED:
        return rec
    buckets, calls, failures = _pruned(rec, cfg, now)
    rec = replace(rec, buckets=buckets, calls=calls, failures=failures)
    if _should_trip(rec, cfg):
        return _open(rec, cfg, now, rng, reopen_count=rec.reopen_count, retry_after_s=None)
    return rec


def with_shared_totals(
    rec: BreakerRecord, cfg: BreakerConfig, now: float, calls: int, failures: int
) -> BreakerRecord:
    """Stores what other processes contributed, given the window totals of all processes."""
    buckets, own_calls, own_failures = _pruned(rec, cfg, now)
    peer_calls = max(0, calls - own_calls)
    peer_failures = min(peer_calls, max(0, failures - own_failures))
    return replace(
        rec,
        buckets=buckets,
        calls=own_calls,
        failures=own_failures,
        peer_calls=peer_calls,
        peer_failures=peer_failures,
    )


def window_totals(rec: BreakerRecord, cfg: BreakerConfig, now: float) -> tuple[int, int]:
    """(calls, failures) recorded by this process in the window ending at `now`."""
    _, calls, failures = _pruned(rec, cfg, now)
    return calls, failures


def close(rec: BreakerRecord) -> BreakerRecord:
    """A fresh closed breaker: window, counters and re-open count all reset."""
    return BreakerRecord(epoch=rec.epoch + 1)


def adopt_open(
    rec: BreakerRecord, *, opened_at: float, open_until: float, reopen_count: int
) -> BreakerRecord:
    """Takes over an open period decided elsewhere (another process)."""
    opened = replace(
        rec,
        state=_OPEN,
        opened_at=opened_at,
        open_until=open_until,
        reopen_count=reopen_count,
        peer_calls=0,
        peer_failures=0,
    )
    return _with_probe_round(opened, quota=0, lease_until=math.inf)


def extend_open(rec: BreakerRecord, open_until: float) -> BreakerRecord:
    """Keeps an open breaker open until at least `open_until`."""
    if rec.state is not _OPEN or open_until <= rec.open_until:
        return rec
    return replace(rec, open_until=open_until)


def grant_probes(rec: BreakerRecord, quota: int, lease_until: float) -> BreakerRecord:
    """Starts a probe round of `quota` requests, valid until `lease_until`."""
    if rec.state is not _HALF_OPEN:
        return rec
    return _with_probe_round(rec, quota=quota, lease_until=lease_until)


def revoke_probes(rec: BreakerRecord) -> BreakerRecord:
    """Ends this process's probe round; a pending wish to probe is kept."""
    if rec.state is not _HALF_OPEN or rec.probe_quota == 0:
        return rec
    revoked = _with_probe_round(rec, quota=0, lease_until=math.inf)
    return replace(revoked, probe_wanted=rec.probe_wanted)


def renew_probe_lease(rec: BreakerRecord, lease_until: float) -> BreakerRecord:
    if rec.state is not _HALF_OPEN or rec.probe_quota == 0:
        return rec
    return replace(rec, probe_lease_until=lease_until)


def standalone(rec: BreakerRecord, cfg: BreakerConfig) -> BreakerRecord:
    """Drops everything learned from other processes and lets half-open probe locally."""
    rec = replace(rec, peer_calls=0, peer_failures=0)
    if rec.state is not _HALF_OPEN:
        return rec
    if rec.probe_quota == 0:
        return _with_probe_round(rec, quota=cfg.half_open_probes, lease_until=math.inf)
    return replace(rec, probe_lease_until=math.inf)


def open_duration(
    cfg: BreakerConfig, reopen_count: int, rng: RandomSource, retry_after_s: float | None = None
) -> float:
    """open_s for the first `steady_reopens` re-opens, then doubling, capped at max_open_s,
    jittered, and never shorter than Retry-After."""
    doublings = min(max(0, reopen_count - cfg.steady_reopens), _MAX_DOUBLINGS)
    base = min(cfg.open_s * 2.0**doublings, cfg.max_open_s)
    wait = base * (1.0 + cfg.jitter * (2.0 * rng() - 1.0))
    if retry_after_s is not None:
        wait = max(wait, _bounded_retry_after(cfg, retry_after_s))
    return wait


def view(rec: BreakerRecord, cfg: BreakerConfig, now: float, now_wall: float) -> BreakerView:
    _, calls, failures = _pruned(rec, cfg, now)
    state = rec.state
    if state is _OPEN and now >= rec.open_until:
        state = _HALF_OPEN
    is_open = state is not _CLOSED
    return BreakerView(
        state=state,
        calls_in_window=calls + rec.peer_calls,
        failures_in_window=failures + rec.peer_failures,
        consecutive_failures=rec.consecutive_failures,
        opened_at=now_wall + (rec.opened_at - now) if is_open else None,
        open_until=now_wall + (rec.open_until - now) if is_open else None,
        reopen_count=rec.reopen_count,
        probes_admitted=rec.probes_admitted,
        probes_succeeded=rec.probes_succeeded,
    )


def _record_closed(
    rec: BreakerRecord,
    cfg: BreakerConfig,
    now: float,
    rng: RandomSource,
    *,
    failed: bool,
    retry_after_s: float | None,
) -> BreakerRecord:
    buckets, calls, failures = _pruned(rec, cfg, now)
    second = math.floor(now)
    failure = 1 if failed else 0
    if buckets and buckets[-1][0] == second:
        _, bucket_calls, bucket_failures = buckets[-1]
        buckets = (*buckets[:-1], (second, bucket_calls + 1, bucket_failures + failure))
    else:
        buckets = (*buckets, (second, 1, failure))
    rec = replace(
        rec,
        buckets=buckets,
        calls=calls + 1,
        failures=failures + failure,
        consecutive_failures=rec.consecutive_failures + 1 if failed else 0,
    )
    if failed and _should_trip(rec, cfg):
        return _open(rec, cfg, now, rng, reopen_count=rec.reopen_count, retry_after_s=retry_after_s)
    return rec


def _pruned(
    rec: BreakerRecord, cfg: BreakerConfig, now: float
) -> tuple[tuple[Bucket, ...], int, int]:
    oldest_kept = math.floor(now) - cfg.window_s + 1
    buckets = rec.buckets
    if not buckets or buckets[0][0] >= oldest_kept:
        return buckets, rec.calls, rec.failures
    calls, failures, expired = rec.calls, rec.failures, 0
    for second, bucket_calls, bucket_failures in buckets:
        if second >= oldest_kept:
            break
        calls -= bucket_calls
        failures -= bucket_failures
        expired += 1
    return buckets[expired:], calls, failures


def _should_trip(rec: BreakerRecord, cfg: BreakerConfig) -> bool:
    if rec.consecutive_failures >= cfg.consecutive_failures:
        return True
    calls = rec.calls + rec.peer_calls
    failures = rec.failures + rec.peer_failures
    return calls >= cfg.min_calls and failures >= cfg.failure_rate * calls


def _open(
    rec: BreakerRecord,
    cfg: BreakerConfig,
    now: float,
    rng: RandomSource,
    *,
    reopen_count: int,
    retry_after_s: float | None,
) -> BreakerRecord:
    opened = replace(
        rec,
        state=_OPEN,
        opened_at=now,
        open_until=now + open_duration(cfg, reopen_count, rng, retry_after_s),
        reopen_count=reopen_count,
    )
    return _with_probe_round(opened, quota=0, lease_until=math.inf)


def _with_probe_round(rec: BreakerRecord, *, quota: int, lease_until: float) -> BreakerRecord:
    """Starts a new regime: a new epoch and a fresh probe round."""
    return replace(
        rec,
        epoch=rec.epoch + 1,
        probe_quota=quota,
        probe_lease_until=lease_until,
        probes_admitted=0,
        probes_succeeded=0,
        probe_wanted=False,
    )


def _is_probe_result(rec: BreakerRecord, admission: Admission | None) -> bool:
    if admission is not None:
        return admission.probe and admission.epoch == rec.epoch
    return rec.probes_admitted > rec.probes_succeeded


def _bounded_retry_after(cfg: BreakerConfig, retry_after_s: float) -> float:
    if not math.isfinite(retry_after_s):
        return 0.0
    return min(max(retry_after_s, 0.0), cfg.max_retry_after_s)
