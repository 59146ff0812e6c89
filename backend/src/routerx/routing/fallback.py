"""The fallback loop: try targets in order, skip open breakers, retry with backoff.

A failure-class error (5xx, 408, 429, connect, timeout, stream error) moves on to the next target;
any other upstream 4xx goes straight back to the client. Every attempt, skipped ones included,
is recorded for the request log.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from routerx.providers.errors import UpstreamError
from routerx.routing.breaker import Outcome
from routerx.routing.breaker_gate import ProviderBreakers
from routerx.routing.retry import backoff_delay
from routerx.routing.rules import PlannedTarget, RoutePlan
from routerx.storage.log_row import Attempt

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 3
    deadline_s: float = 60.0
    backoff_base_s: float = 0.1
    backoff_max_s: float = 2.0

    def backoff(self, retry_round: int, retry_after_s: float | None, rng: random.Random) -> float:
        """Full jitter, capped; a Retry-After from the upstream is a floor."""
        delay = backoff_delay(
            retry_round, base_s=self.backoff_base_s, cap_s=self.backoff_max_s, rng=rng.random
        )
        return max(delay, retry_after_s or 0.0)


class FallbackExhausted(Exception):
    def __init__(self, last_error: UpstreamError | None, retry_after_s: float | None) -> None:
        super().__init__("every target failed or was unavailable")
        self.last_error = last_error
        self.retry_after_s = retry_after_s


class ClientError(Exception):
    """An upstream 4xx that is the client's to fix: no fallback."""

    def __init__(self, error: UpstreamError, target: PlannedTarget) -> None:
        super().__init__(error.message)
        self.error = error
        self.target = target


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


@dataclass(slots=True)
class FallbackRun:
    plan: RoutePlan
    breakers: ProviderBreakers
    policy: RetryPolicy
    attempts: list[Attempt]
    rng: random.Random

    async def run(
        self, try_target: Callable[[PlannedTarget], Awaitable[T]]
    ) -> tuple[T, PlannedTarget]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.policy.deadline_s
        made = 0
        last_error: UpstreamError | None = None
        open_wait: float | None = None
        for retry_round in range(self.policy.max_attempts):
            failed_this_round = False
            for target in self.plan.targets:
                if made >= self.policy.max_attempts or loop.time() >= deadline:
                    break
                provider = target.provider
                admission = self.breakers.admit(provider)
                if not admission.allowed:
                    self.attempts.append(
                        Attempt(
                            provider.name,
                            target.model,
                            "skipped_open",
                            breaker_state=admission.state.value,
                        )
                    )
                    wait = admission.retry_after_s
                    if wait is not None:
                        open_wait = wait if open_wait is None else min(open_wait, wait)
                    continue
                made += 1
                started = time.perf_counter()
                try:
                    result = await try_target(target)
                except UpstreamError as error:
                    outcome = Outcome.FAILURE if error.is_failure else Outcome.NEUTRAL
                    self.breakers.record(provider, admission, outcome, error.retry_after_s)
                    self.attempts.append(
                        Attempt(
                            provider.name,
                            target.model,
                            "failure" if error.is_failure else "client_error",
                            _elapsed_ms(started),
                            error.status,
                            admission.state.value,
                            error.kind.value if error.status is None else "http_error",
                        )
                    )
                    if not error.is_failure:
                        raise ClientError(error, target) from None
                    last_error, failed_this_round = error, True
                    continue
                except asyncio.CancelledError:
                    self.breakers.record(provider, admission, Outcome.NEUTRAL)
                    self.attempts.append(
                        Attempt(
                            provider.name,
                            target.model,
                            "cancelled",
                            _elapsed_ms(started),
                            breaker_state=admission.state.value,
                        )
                    )
                    raise
                self.breakers.record(provider, admission, Outcome.SUCCESS)
                self.attempts.append(
                    Attempt(
                        provider.name,
                        target.model,
                        "success",
                        _elapsed_ms(started),
                        200,
                        admission.state.value,
                    )
                )
                return result, target
            if not failed_this_round or made >= self.policy.max_attempts:
                break
            delay = self.policy.backoff(
                retry_round, last_error.retry_after_s if last_error else None, self.rng
            )
            if delay > self.policy.backoff_max_s or loop.time() + delay >= deadline:
                break  # a long Retry-After: answer now rather than hold the client
            await asyncio.sleep(delay)
        raise FallbackExhausted(last_error, open_wait if last_error is None else None)
