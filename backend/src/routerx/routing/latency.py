"""Measured speed per target (provider and upstream model), for latency-aware balancing and
the automatic hedge delay.

Every successful attempt reports how long it took to its point of commitment: the first chunk
for a stream (time to first token), the whole answer otherwise; a timed-out attempt reports
the time it waited, so a target that starts hanging looks slow at once. Each target keeps an
exponentially decaying average (each new sample weighs ALPHA) and its last WINDOW samples for
percentiles. A target not measured for STALE_S counts as unmeasured again: latency balancing
sends it the next request, so a target that recovered (or was skipped while its breaker was
open) is seen again instead of being starved by its old figures.
"""

from __future__ import annotations

import math
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from routerx.providers.errors import FailureKind, UpstreamError

ALPHA = 0.3
WINDOW = 200
STALE_S = 30.0
EXPLORATION = 0.05  # share of requests that go to a random measured target first
Clock = Callable[[], float]
Key = tuple[str, str]  # (provider name, upstream model)
T = TypeVar("T")
A = TypeVar("A")


class TargetLatency:
    __slots__ = ("average_ms", "last_at", "samples")

    def __init__(self) -> None:
        self.average_ms: float | None = None
        self.last_at = -math.inf
        self.samples: deque[float] = deque(maxlen=WINDOW)

    def add(self, elapsed_ms: float, now: float) -> None:
        previous = self.average_ms
        self.average_ms = (
            elapsed_ms if previous is None else previous + ALPHA * (elapsed_ms - previous)
        )
        self.samples.append(elapsed_ms)
        self.last_at = now


class LatencyTracker:
    """Process-wide; reads and writes are plain dict operations on the event loop."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self.clock = clock
        self._targets: dict[Key, TargetLatency] = {}

    def observe(self, provider: str, model: str, elapsed_ms: float) -> None:
        entry = self._targets.get((provider, model))
        if entry is None:
            entry = self._targets[(provider, model)] = TargetLatency()
        entry.add(elapsed_ms, self.clock())

    def average_ms(self, provider: str, model: str) -> float | None:
        """The decaying average, or None when never or not recently measured."""
        entry = self._targets.get((provider, model))
        if entry is None or self.clock() - entry.last_at > STALE_S:
            return None
        return entry.average_ms

    def percentile_ms(
        self, provider: str, model: str, fraction: float, min_samples: int
    ) -> float | None:
        """The `fraction` percentile of the recent samples (nearest rank), None with fewer
        than `min_samples`."""
        entry = self._targets.get((provider, model))
        if entry is None or len(entry.samples) < min_samples:
            return None
        ordered = sorted(entry.samples)
        return ordered[min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1)]


def timed(
    tracker: LatencyTracker,
    perform: Callable[[A], Awaitable[T]],
    provider_of: Callable[[A], Key],
) -> Callable[[A], Awaitable[T]]:
    """`perform` reporting each attempt's time to `tracker` (successes and timeouts)."""

    async def run(attempt: A) -> T:
        started = time.perf_counter()
        try:
            result = await perform(attempt)
        except UpstreamError as error:
            if error.kind is FailureKind.TIMEOUT:
                tracker.observe(*provider_of(attempt), (time.perf_counter() - started) * 1000)
            raise
        tracker.observe(*provider_of(attempt), (time.perf_counter() - started) * 1000)
        return result

    return run


def latency_order(
    keys: Sequence[Key], tracker: LatencyTracker, rng: random.Random
) -> list[tuple[int, str]]:
    """Indexes of `keys` in the order to try them, each with why it is there: unmeasured
    targets first (in random order, to be measured), then the measured ones fastest first;
    now and then (EXPLORATION) a random measured target goes first instead."""
    averages = [tracker.average_ms(provider, model) for provider, model in keys]
    unmeasured = [i for i, average in enumerate(averages) if average is None]
    rng.shuffle(unmeasured)
    measured = sorted(
        (i for i, average in enumerate(averages) if average is not None),
        key=lambda i: averages[i] or 0.0,
    )
    order = [(i, "latency: not measured recently, tried to measure it") for i in unmeasured]
    if not unmeasured and len(measured) > 1 and rng.random() < EXPLORATION:
        explored = measured.pop(rng.randrange(1, len(measured)))
        order.append((explored, f"latency: exploration (avg {averages[explored]:.0f} ms)"))
    for rank, i in enumerate(measured):
        label = "fastest" if rank == 0 and not order else "slower"
        order.append((i, f"latency: {label} (avg {averages[i]:.0f} ms)"))
    return order
