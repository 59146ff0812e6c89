"""The background loop that keeps this process's breakers in step with the shared store.

Each round is one pipelined round trip: publish local transitions (Lua decides who wins),
claim or renew half-open probe rounds, push window deltas, and read back the merged
window and shared state, which is then applied locally.

Guarantees while Redis answers (wall clocks of all hosts assumed in sync, e.g. NTP):
- An open is published at once (a local open wakes the loop) and atomically: concurrent
  opens of one breaker make a single shared transition, the losers adopt the winner's
  open period. Every other process applies it at its next round, i.e. within one sync
  interval plus a round trip, even for targets it has not used yet (open index).
- A half-open probe round is handed whole to one process (the first that had traffic for
  it) under a lease renewed while its probes are in flight, so at most
  `half_open_probes` probes run across all processes. A process waits for one round
  before probing; the loop is woken for that too.
- The failure rate is judged on this process's window plus the other processes' counts
  as of the last round. Consecutive failures are counted per process.
When Redis fails or is slower than the store timeout: one warning per outage, local state
only (each process then probes on its own), nothing raised into the hot path. Pending
transitions and resets are published once Redis answers again; window counts recorded
during the outage are not replayed. A shared state lost by Redis is republished by the
processes that still hold the breaker open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from routerx.core.clock import Clock
from routerx.routing import breaker
from routerx.routing.breaker import BreakerConfig, BreakerRecord, BreakerState, RandomSource
from routerx.routing.shared.entry import BreakerEntry
from routerx.routing.shared.store import (
    LifecycleOp,
    OpKind,
    SharedState,
    SharedStore,
    StoreUnavailableError,
    SyncItem,
    SyncResult,
)

logger = logging.getLogger(__name__)

Commit = Callable[[str, BreakerEntry, BreakerRecord, bool], None]
"""Stores a new record for a target: (key, entry, record, decided_locally)."""


@dataclass(frozen=True, slots=True)
class _Plan:
    key: str
    entry: BreakerEntry
    serial: int
    renewing: bool
    item: SyncItem


@dataclass(frozen=True, slots=True)
class _Instant:
    """One reading of both clocks, to convert between monotonic and wall time."""

    mono: float
    wall: float

    def to_wall(self, mono: float) -> float:
        return self.wall + (mono - self.mono)

    def to_mono(self, wall: float) -> float:
        return self.mono + (wall - self.wall)


class SharedSync:
    def __init__(
        self,
        *,
        store: SharedStore,
        entries: dict[str, BreakerEntry],
        commit: Commit,
        clock: Clock,
        rng: RandomSource,
        leader_id: str,
        default_config: BreakerConfig,
        interval_s: float,
        probe_lease_s: float,
    ) -> None:
        self._store = store
        self._entries = entries
        self._commit = commit
        self._clock = clock
        self._rng = rng
        self._leader = leader_id
        self._default_config = default_config
        self._interval_s = interval_s
        self._lease_s = probe_lease_s
        self._wake = asyncio.Event()
        self._coordinated = True

    @property
    def coordinated(self) -> bool:
        """False during a store outage: breakers then run on local state alone."""
        return self._coordinated

    def wake(self) -> None:
        """Runs the next sync round now instead of at the next tick."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()  # this round covers every wake-up so far
            try:
                await self.sync_once()
            except Exception:
                logger.exception("breaker sync round failed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._interval_s):
                    await self._wake.wait()

    async def sync_once(self) -> bool:
        """One sync round. Returns False (after falling back to local state) on an outage."""
        try:
            keys = [key for key, entry in self._entries.items() if _is_active(entry)]
            open_elsewhere = await self._sync_keys(keys, with_index=True)
            # Breakers opened by other processes that this one is not syncing yet.
            unseen = set(open_elsewhere).difference(keys)
            for key in unseen:
                if key not in self._entries:
                    self._entries[key] = BreakerEntry(rec=BreakerRecord(), cfg=self._default_config)
            if unseen:
                await self._sync_keys(unseen, with_index=False)
        except StoreUnavailableError as exc:
            self._store_down(exc)
            return False
        self._store_up()
        return True

    async def reset(self, key: str) -> bool:
        """Closes the shared breaker for every process; False if the store is unreachable."""
        entry = self._entries.get(key)
        serial = entry.pending_serial if entry is not None else 0
        try:
            gen = await self._store.reset(key)
        except StoreUnavailableError as exc:
            self._store_down(exc)
            return False
        self._store_up()
        if entry is not None and entry.pending_serial == serial:
            entry.pending, entry.shared_gen, entry.shared_round = None, gen, 0
        return True

    async def _sync_keys(self, keys: Iterable[str], *, with_index: bool) -> list[str]:
        start = _Instant(self._clock.monotonic(), self._clock.time())
        plans = [self._plan(key, self._entries[key], start) for key in keys]
        results, index = await self._store.sync(
            [plan.item for plan in plans],
            now_wall=start.wall,
            leader=self._leader,
            lease_s=self._lease_s,
            with_index=with_index,
        )
        for plan, result in zip(plans, results, strict=True):
            self._apply(plan, result, start)
        return index

    def _plan(self, key: str, entry: BreakerEntry, start: _Instant) -> _Plan:
        rec = entry.rec
        op = _lifecycle_op(entry, start)
        claim = (
            op is None
            and entry.shared_gen > 0
            and rec.state is BreakerState.HALF_OPEN
            and rec.probe_quota == 0
            and rec.probe_wanted
        )
        renewing = (
            entry.shared_round > 0
            and rec.state is BreakerState.HALF_OPEN
            and rec.probes_admitted > rec.probes_succeeded
        )
        item = SyncItem(
            key=key,
            window_s=entry.cfg.window_s,
            deltas=entry.take_deltas(),
            op=op,
            claim_gen=entry.shared_gen if claim else None,
            renew=(entry.shared_gen, entry.shared_round) if renewing else None,
        )
        return _Plan(key, entry, entry.pending_serial, renewing, item)

    def _apply(self, plan: _Plan, result: SyncResult, start: _Instant) -> None:
        entry = plan.entry
        if entry.pending_serial == plan.serial:
            entry.pending = None
        if result.op_gen and result.op_gen != entry.shared_gen:
            entry.shared_gen, entry.shared_round = result.op_gen, 0
        if result.claimed_round:
            entry.shared_round = result.claimed_round
        now = self._clock.monotonic()
        rec = entry.rec
        if entry.pending is None:  # else a newer local transition wins until it is published
            rec = self._reconcile(entry, rec, result.state, start, renewing=plan.renewing)
        if rec.state is BreakerState.CLOSED:
            rec = breaker.with_shared_totals(rec, entry.cfg, now, result.calls, result.failures)
            self._commit(plan.key, entry, rec, False)
            self._commit(plan.key, entry, breaker.evaluate(rec, entry.cfg, now, self._rng), True)
        else:
            self._commit(plan.key, entry, rec, False)

    def _reconcile(
        self,
        entry: BreakerEntry,
        rec: BreakerRecord,
        shared: SharedState | None,
        start: _Instant,
        *,
        renewing: bool,
    ) -> BreakerRecord:
        if shared is None:
            entry.shared_gen, entry.shared_round = 0, 0
            if rec.state is not BreakerState.CLOSED:
                entry.set_pending(OpKind.OPEN)  # the store lost our open state: publish it again
                self.wake()
            return rec
        locally_open = rec.state is not BreakerState.CLOSED
        if shared.gen != entry.shared_gen or shared.open != locally_open:
            entry.shared_gen, entry.shared_round = shared.gen, 0
            if not shared.open:
                return breaker.close(rec) if locally_open else rec
            return breaker.adopt_open(
                rec,
                opened_at=start.to_mono(shared.opened_at),
                open_until=start.to_mono(shared.open_until),
                reopen_count=shared.reopen_count,
            )
        if not shared.open:
            return rec
        rec = breaker.extend_open(rec, start.to_mono(shared.open_until))
        return self._reconcile_probe_round(entry, rec, shared, start, renewing=renewing)

    def _reconcile_probe_round(
        self,
        entry: BreakerEntry,
        rec: BreakerRecord,
        shared: SharedState,
        start: _Instant,
        *,
        renewing: bool,
    ) -> BreakerRecord:
        holds = (
            entry.shared_round > 0
            and shared.round == entry.shared_round
            and shared.leader == self._leader
            and shared.lease_until > start.wall
        )
        if not holds:
            entry.shared_round = 0
            return breaker.revoke_probes(rec)
        lease_until = start.mono + self._lease_s
        if rec.probe_quota == 0:
            return breaker.grant_probes(rec, entry.cfg.half_open_probes, lease_until)
        return breaker.renew_probe_lease(rec, lease_until) if renewing else rec

    def _store_down(self, exc: StoreUnavailableError) -> None:
        if not self._coordinated:
            return
        self._coordinated = False
        logger.warning("breaker shared store unavailable, using local state only: %s", exc)
        for key, entry in self._entries.items():
            entry.shared_round = 0
            self._commit(key, entry, breaker.standalone(entry.rec, entry.cfg), False)

    def _store_up(self) -> None:
        if not self._coordinated:
            self._coordinated = True
            logger.warning("breaker shared store reachable again, sharing breaker state")


def _is_active(entry: BreakerEntry) -> bool:
    """Whether a target has anything to push or learn; idle closed targets are skipped."""
    rec = entry.rec
    return bool(
        entry.pending is not None
        or entry.deltas
        or entry.shared_gen < 0
        or rec.state is not BreakerState.CLOSED
        or rec.calls
        or rec.peer_calls
    )


def _lifecycle_op(entry: BreakerEntry, start: _Instant) -> LifecycleOp | None:
    rec = entry.rec
    gen = max(entry.shared_gen, 0)
    match entry.pending:
        case OpKind.RESET:
            return LifecycleOp(kind=OpKind.RESET)
        case OpKind.OPEN if rec.state is not BreakerState.CLOSED:
            return LifecycleOp(
                kind=OpKind.OPEN,
                gen=gen,
                opened_at=start.to_wall(rec.opened_at),
                open_until=start.to_wall(rec.open_until),
                reopen_count=rec.reopen_count,
            )
        case OpKind.CLOSE if rec.state is BreakerState.CLOSED:
            return LifecycleOp(kind=OpKind.CLOSE, gen=gen)
        case OpKind.EXTEND if rec.state is BreakerState.OPEN:
            return LifecycleOp(
                kind=OpKind.EXTEND, gen=gen, open_until=start.to_wall(rec.open_until)
            )
        case _:
            return None
