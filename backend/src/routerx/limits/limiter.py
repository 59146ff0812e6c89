"""Requests- and tokens-per-minute limits per tenant and per key, checked before upstream.

`check_and_reserve` and `settle` are synchronous, do no I/O and cost microseconds. With a
store, a background task (`start`/`stop`) shares counts across processes (see
`routerx.limits.sync` for the overshoot bound and outage behaviour); without one, counting
is exact within this process. Use one limiter per process, from the event-loop thread.
"""

from __future__ import annotations

import asyncio
from typing import Literal

from routerx.core.background import bounded, stop_task
from routerx.core.clock import Clock, SystemClock
from routerx.limits.decision import Decision, LimitName, Limits, Reservation, Scope
from routerx.limits.headers import rate_limit_headers
from routerx.limits.store import DEFAULT_KEY_PREFIX, CountStore, RedisCountStore
from routerx.limits.sync import CountSync
from routerx.limits.table import WindowTable
from routerx.limits.window import MINUTE_S, Window, wait_to_fit
from routerx.telemetry.metrics import RATE_LIMITED

Status = Literal["disabled", "ok", "unreachable"]

# Idle windows dropped per call at most, so that a minute turning over with many of them
# is spread over many requests instead of stalling one.
_EVICTIONS_PER_CALL = 64

_REFUSALS = {
    (scope, limit): RATE_LIMITED.labels(scope=scope, limit=limit)
    for scope in ("tenant", "key")
    for limit in ("rpm", "tpm")
}


class RateLimiter:
    def __init__(
        self,
        *,
        store: CountStore | None = None,
        clock: Clock | None = None,
        sync_interval_s: float = 0.1,
        owns_store: bool = False,
    ) -> None:
        self._clock: Clock = clock or SystemClock()
        self._tenants = WindowTable("t", shared=store is not None)
        self._keys = WindowTable("k", shared=store is not None)
        self._evicted_up_to = 0
        """The minute for which every idle window has been dropped."""
        self._store = store
        self._owns_store = owns_store
        self._task: asyncio.Task[None] | None = None
        self._sync = (
            None
            if store is None
            else CountSync(
                store=store,
                tables=(self._tenants, self._keys),
                clock=self._clock,
                interval_s=sync_interval_s,
            )
        )

    @property
    def status(self) -> Status:
        """ "disabled" without a store, else "ok" or "unreachable" (per-process counts)."""
        if self._sync is None:
            return "disabled"
        return "ok" if self._sync.reachable else "unreachable"

    @property
    def tracked_subjects(self) -> int:
        """Tenants plus keys with counts still inside the window (the memory in use)."""
        return len(self._tenants) + len(self._keys)

    def check_and_reserve(
        self,
        tenant_id: int | str,
        tenant_limits: Limits,
        key_id: int | str,
        key_limits: Limits,
        estimated_tokens: int,
    ) -> Decision:
        """Admits and counts one request of about `estimated_tokens`, or refuses it.

        An allowed request is counted at once (requests and estimated tokens); correct its
        tokens with `settle`. A refused one is not counted.
        """
        tenant_rpm, tenant_tpm = tenant_limits.rpm, tenant_limits.tpm
        key_rpm, key_tpm = key_limits.rpm, key_limits.tpm
        tenant_limited = tenant_rpm is not None or tenant_tpm is not None
        key_limited = key_rpm is not None or key_tpm is not None
        if not (tenant_limited or key_limited):
            return Decision(True, None, None, None, None, [])
        minute_start, offset = divmod(self._clock.time(), MINUTE_S)
        minute = int(minute_start)
        if minute != self._evicted_up_to:
            self._evict_idle(minute)
        carry = 1.0 - offset / MINUTE_S  # weight of the previous minute still in the window
        tokens = estimated_tokens if estimated_tokens > 0 else 0
        tenant = self._tenants.current(tenant_id, minute) if tenant_limited else None
        key = self._keys.current(key_id, minute) if key_limited else None

        refusal: _Refusal | None = None
        if key is not None:
            refusal = _check(key, "key", key_rpm, key_tpm, tokens, carry, offset, refusal)
        if tenant is not None:
            refusal = _check(
                tenant, "tenant", tenant_rpm, tenant_tpm, tokens, carry, offset, refusal
            )
        if refusal is None:
            if tenant is not None:
                tenant.count(tokens)
            if key is not None:
                key.count(tokens)
            reservation = Reservation(tenant, key, minute, tokens)
        else:
            _REFUSALS[refusal.scope, refusal.limit].inc()
            reservation = None
        headers = rate_limit_headers(
            carry, offset, tenant, tenant_rpm, tenant_tpm, key, key_rpm, key_tpm
        )
        if refusal is None:
            return Decision(True, reservation, None, None, None, headers)
        return Decision(False, None, refusal.wait_s, refusal.scope, refusal.limit, headers)

    def settle(self, reservation: Reservation | None, actual_tokens: int) -> None:
        """Replaces a request's estimated tokens by `actual_tokens` (0 for a failed request,
        which still counts as a request). Only the first settle of a reservation counts."""
        if reservation is None or reservation.settled:
            return
        reservation.settled = True
        delta = (actual_tokens if actual_tokens > 0 else 0) - reservation.tokens
        if delta == 0:
            return
        minute, tenant, key = reservation.minute, reservation.tenant, reservation.key
        current = int(self._clock.time() // MINUTE_S)
        if minute >= current - 1:  # its windows are still held (eviction needs older ones)
            if tenant is not None:
                tenant.adjust_tokens(minute, delta)
            if key is not None:
                key.adjust_tokens(minute, delta)
        elif delta > 0:  # the reserved minute has left the window: charge the excess now
            if tenant is not None:
                self._tenants.current(tenant.subject, current).adjust_tokens(current, delta)
            if key is not None:
                self._keys.current(key.subject, current).adjust_tokens(current, delta)

    async def sync_once(self) -> bool:
        """One sync round with the store (the background task calls this); False on outage."""
        return True if self._sync is None else await self._sync.sync_once()

    async def start(self) -> None:
        """Starts sharing counts through the store (a no-op without one).

        Required with a store: the rounds are also what forgets the windows used since
        the previous one.
        """
        if self._sync is not None and self._task is None:
            self._task = asyncio.create_task(self._sync.run(), name="routerx-limits-sync")

    async def stop(self) -> None:
        """Stops sharing, after pushing the counts made since the last round."""
        task, self._task = self._task, None
        if task is not None:
            await stop_task(task)
            await bounded(self.sync_once())
        if self._store is not None and self._owns_store:
            await bounded(self._store.aclose())

    def _evict_idle(self, minute: int) -> None:
        tenants_done = self._tenants.evict(minute, _EVICTIONS_PER_CALL)
        keys_done = self._keys.evict(minute, _EVICTIONS_PER_CALL)
        if tenants_done and keys_done:
            self._evicted_up_to = minute


def build_limiter(
    redis_url: str | None,
    *,
    key_prefix: str = DEFAULT_KEY_PREFIX,
    sync_interval_s: float = 0.1,
    redis_timeout_s: float = 0.2,
    key_ttl_s: float = 180.0,
    clock: Clock | None = None,
) -> RateLimiter:
    """A limiter sharing counts through `redis_url`, or a process-local one if it is empty.

    `key_ttl_s` must exceed two minutes: a minute's counts are read until the next one ends.
    """
    if key_ttl_s <= 2 * MINUTE_S:
        raise ValueError("key_ttl_s must exceed two minutes")
    store = (
        RedisCountStore.from_url(
            redis_url, key_prefix=key_prefix, ttl_s=key_ttl_s, timeout_s=redis_timeout_s
        )
        if redis_url
        else None
    )
    return RateLimiter(
        store=store, owns_store=store is not None, clock=clock, sync_interval_s=sync_interval_s
    )


class _Refusal:
    __slots__ = ("limit", "scope", "wait_s")

    def __init__(self, scope: Scope, limit: LimitName, wait_s: float | None) -> None:
        self.scope = scope
        self.limit = limit
        self.wait_s = wait_s

    def outlasts(self, other: _Refusal | None) -> bool:
        if other is None or self.wait_s is None:
            return True
        return other.wait_s is not None and self.wait_s > other.wait_s


def _check(
    window: Window,
    scope: Scope,
    rpm: int | None,
    tpm: int | None,
    tokens: int,
    carry: float,
    offset: float,
    worst: _Refusal | None,
) -> _Refusal | None:
    """`worst` or, if it lasts longer, this window's own refusal (the one to wait out)."""
    if rpm is not None and window.prev_requests * carry + window.requests + 1 > rpm:
        wait_s = wait_to_fit(window.prev_requests, window.requests, 1, rpm, offset)
        refusal = _Refusal(scope, "rpm", wait_s)
        if refusal.outlasts(worst):
            worst = refusal
    if tpm is not None and window.prev_tokens * carry + window.tokens + tokens > tpm:
        wait_s = wait_to_fit(window.prev_tokens, window.tokens, tokens, tpm, offset)
        refusal = _Refusal(scope, "tpm", wait_s)
        if refusal.outlasts(worst):
            worst = refusal
    return worst
