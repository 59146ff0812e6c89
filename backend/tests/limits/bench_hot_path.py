"""CPU cost of the limiter's hot path: `python -m tests.limits.bench_hot_path` (from backend/)."""

from __future__ import annotations

import time
from collections.abc import Callable

from routerx.limits import UNLIMITED, Limits, RateLimiter

CALLS = 200_000


def per_call_us(step: Callable[[], None]) -> float:
    best = float("inf")
    for _ in range(5):
        started = time.process_time()
        for _ in range(CALLS):
            step()
        best = min(best, time.process_time() - started)
    return best / CALLS * 1e6


def check_and_settle(tenant: Limits, key: Limits, subjects: int) -> Callable[[], None]:
    limiter = RateLimiter()
    ids = iter(range(10**12))

    def step() -> None:
        subject = next(ids) % subjects
        decision = limiter.check_and_reserve(subject, tenant, subject, key, 1200)
        limiter.settle(decision.reservation, 900)

    return step


def main() -> None:
    roomy = Limits(rpm=10**9, tpm=10**12)
    baseline = per_call_us(lambda: None)
    cases = {
        "tenant and key, rpm and tpm each": (roomy, roomy, 1),
        "the same over 10,000 tenants and keys": (roomy, roomy, 10_000),
        "tenant rpm only": (Limits(rpm=10**9), UNLIMITED, 1),
        "no limits at all": (UNLIMITED, UNLIMITED, 1),
    }
    for name, (tenant, key, subjects) in cases.items():
        cost = per_call_us(check_and_settle(tenant, key, subjects)) - baseline
        print(f"check_and_reserve + settle, {name}: {cost:.2f} us")


if __name__ == "__main__":
    main()
