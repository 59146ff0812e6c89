"""One target's breaker in this process, with the bookkeeping the shared-store sync needs."""

from __future__ import annotations

from dataclasses import dataclass, field

from routerx.routing.breaker import BreakerConfig, BreakerRecord
from routerx.routing.shared.store import OpKind


@dataclass(slots=True)
class BreakerEntry:
    rec: BreakerRecord
    cfg: BreakerConfig
    shared_gen: int = -1
    """Generation of the shared state `rec` mirrors; -1 until the first sync."""
    shared_round: int = 0
    """Probe round this process holds in the shared state; 0 for none."""
    pending: OpKind | None = None
    """The latest local transition not yet published."""
    pending_serial: int = 0
    deltas: dict[int, list[int]] = field(default_factory=dict)
    """Window counts not yet pushed: wall second -> [calls, failures]."""

    def count(self, wall_second: int, failed: bool) -> None:
        bucket = self.deltas.get(wall_second)
        if bucket is None:
            self.deltas[wall_second] = [1, int(failed)]
        else:
            bucket[0] += 1
            bucket[1] += failed

    def take_deltas(self) -> tuple[tuple[int, int, int], ...]:
        deltas = tuple(
            (second, calls, failures) for second, (calls, failures) in self.deltas.items()
        )
        self.deltas.clear()
        return deltas

    def set_pending(self, op: OpKind) -> None:
        if op is OpKind.EXTEND and self.pending is not None:
            return  # an OPEN about to be published carries the later open_until anyway
        self.pending = op
        self.pending_serial += 1
