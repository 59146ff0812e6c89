"""The background loop that merges this process's counts with every other process's.

Each round is one pipelined round trip covering the subjects (tenants, keys) this process
used since its previous round: push the counts made here and read back the totals over
all processes, for the current and previous minute. A process then decides with (totals
at its last round + its own counts since). The work per round is proportional to the
subjects used in one interval, not to every subject known.

Overshoot bound, while Redis answers: a request admitted by one process reaches another
process's view within two rounds (its push, then the other's pull) plus a round trip. So
a limit is exceeded at most by what the *other* processes admit in that lag: about
2 x interval x their combined admission rate (e.g. 0.1 s rounds, 3 other processes at
100 req/s each: about 60 requests). A subject this process sees for the first time, or
again after a pause, is decided on the totals of its last round (or none) until the next
round, which bounds that process's share of the excess by what it admits in one interval.
This is the accepted trade for no Redis round trip per request.

When Redis fails or is slower than the store timeout: one warning per outage, each process
goes on with its last known totals plus its own counts (limits degrade to per-process),
nothing is raised into the hot path. Counts made during the outage are pushed once Redis
answers again; a push whose reply was lost may be counted twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from routerx.core.clock import Clock
from routerx.limits.store import CountStore, StoreUnavailableError
from routerx.limits.table import WindowTable
from routerx.limits.window import MINUTE_S, Counts, Window

logger = logging.getLogger(__name__)


class CountSync:
    def __init__(
        self,
        *,
        store: CountStore,
        tables: Sequence[WindowTable],
        clock: Clock,
        interval_s: float,
    ) -> None:
        self._store = store
        self._tables = tables
        self._clock = clock
        self._interval_s = interval_s
        self._reachable = True

    @property
    def reachable(self) -> bool:
        """False during a store outage: counts are then this process's alone."""
        return self._reachable

    async def run(self) -> None:
        while True:
            try:
                await self.sync_once()
            except Exception:
                logger.exception("rate-limit sync round failed")
            await asyncio.sleep(self._interval_s)

    async def sync_once(self) -> bool:
        """One round. Returns False (keeping local counts) if the store is unavailable."""
        minute = int(self._clock.time() // MINUTE_S)
        windows = [window for table in self._tables for window in table.take_used(minute)]
        taken = [(window, window.take_unsent()) for window in windows]
        try:
            totals = await self._store.exchange(
                minute, [(window.name, counts) for window, counts in taken]
            )
        except StoreUnavailableError as exc:
            _restore(minute, taken)
            self._store_down(exc)
            return False
        except BaseException:  # e.g. cancelled by `stop`: the final push will carry them
            _restore(minute, taken)
            raise
        for window, subject_totals in zip(windows, totals, strict=True):
            window.apply_shared(minute, subject_totals)
        self._store_up()
        return True

    def _store_down(self, exc: StoreUnavailableError) -> None:
        if self._reachable:
            self._reachable = False
            logger.warning("rate-limit store unavailable, limits now count per process: %s", exc)

    def _store_up(self) -> None:
        if not self._reachable:
            self._reachable = True
            logger.warning("rate-limit store reachable again, sharing counts")


def _restore(minute: int, taken: list[tuple[Window, Counts]]) -> None:
    for window, counts in taken:
        window.restore_unsent(minute, counts)
