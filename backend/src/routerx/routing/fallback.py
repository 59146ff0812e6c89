"""The fallback loop: try targets in order, skip open breakers, retry with backoff.

A failure-class error (5xx, 408, 429, connect, timeout, stream error) moves on to the next target;
any other upstream 4xx goes straight back to the client. Every attempt, skipped ones included,
is recorded for the request log.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from routerx.core.log_row import Attempt
from routerx.providers.errors import RequestRejected, UpstreamError
from routerx.routing.attempt import ClientError, TargetAttempt
from routerx.routing.breaker import Admission
from routerx.routing.breaker_gate import ProviderBreakers
from routerx.routing.retry import backoff_delay
from routerx.routing.rules import PlannedTarget, RoutePlan

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


Perform = Callable[[TargetAttempt], Awaitable[T]]
Discard = Callable[[T], Awaitable[None]]


@dataclass(slots=True)
class FallbackRun:
    """One request's way through its plan's targets; every attempt lands in `attempts`."""

    plan: RoutePlan
    breakers: ProviderBreakers
    policy: RetryPolicy
    attempts: list[Attempt]
    rng: random.Random
    made: int = 0
    last_error: UpstreamError | None = None
    open_wait: float | None = None

    async def run(
        self, perform: Perform[T], discard: Discard[T] | None = None
    ) -> tuple[T, PlannedTarget]:
        """The first success, trying targets in order (hedged when the rule says so).

        `perform` does one attempt's work; `discard` releases a result that lost a hedge race
        (e.g. closes a stream)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.policy.deadline_s
        targets = list(self.plan.targets)
        hedge_ms = self.plan.rule.hedge_delay_ms
        if hedge_ms and len(targets) > 1:
            won = await self._hedged(targets, perform, hedge_ms / 1000, discard)
            if won is not None:
                return won
        for retry_round in range(self.policy.max_attempts):
            failed_this_round = False
            for target in targets:
                if self.made >= self.policy.max_attempts or loop.time() >= deadline:
                    break
                admission = self._admit(target)
                if admission is None:
                    continue
                try:
                    return await self._try(target, admission, perform), target
                except UpstreamError:
                    failed_this_round = True
            targets = list(self.plan.targets)
            if not failed_this_round or self.made >= self.policy.max_attempts:
                break
            last = self.last_error
            delay = self.policy.backoff(retry_round, last.retry_after_s if last else None, self.rng)
            if delay > self.policy.backoff_max_s or loop.time() + delay >= deadline:
                break  # a long Retry-After: answer now rather than hold the client
            await asyncio.sleep(delay)
        raise FallbackExhausted(
            self.last_error, self.open_wait if self.last_error is None else None
        )

    def _admit(self, target: PlannedTarget) -> Admission | None:
        admission = self.breakers.admit(target.provider)
        if admission.allowed:
            return admission
        self.attempts.append(
            Attempt(
                target.provider.name,
                target.model,
                "skipped_open",
                breaker_state=admission.state.value,
            )
        )
        wait = admission.retry_after_s
        if wait is not None:
            self.open_wait = wait if self.open_wait is None else min(self.open_wait, wait)
        return None

    async def _try(
        self,
        target: PlannedTarget,
        admission: Admission,
        perform: Perform[T],
        hedged: bool = False,
    ) -> T:
        """One attempt (see routing.attempt). Raises UpstreamError (failure) or ClientError."""
        self.made += 1
        attempt = TargetAttempt(target, admission, self.breakers, self.attempts, hedged)
        try:
            return await attempt.run(perform)
        except UpstreamError as failure:
            self.last_error = failure
            raise

    async def _hedged(
        self,
        targets: list[PlannedTarget],
        perform: Perform[T],
        delay_s: float,
        discard: Discard[T] | None,
    ) -> tuple[T, PlannedTarget] | None:
        """Start the primary; if it has not answered after `delay_s`, race the next admitted
        target against it. The first success wins and the other is cancelled. Returns None
        (both failed) to let the ordinary loop go on with the targets after them."""
        racing: dict[asyncio.Task[T], PlannedTarget] = {}
        remaining = list(targets)
        while remaining and len(racing) < 2:
            target = remaining.pop(0)
            admission = self._admit(target)
            if admission is None:
                continue
            hedge = bool(racing)
            racing[asyncio.create_task(self._try(target, admission, perform, hedge))] = target
            if not hedge:
                done, _ = await asyncio.wait(racing, timeout=delay_s)
                if done:
                    break  # the primary finished (won or failed) before the hedge delay
        targets[:] = remaining  # the ordinary loop goes on with the targets after these
        try:
            while racing:
                done, _ = await asyncio.wait(racing, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    target = racing.pop(task)
                    if task.exception() is None:
                        await _cancel(racing, discard)
                        return task.result(), target
                    error = task.exception()
                    if isinstance(error, ClientError | RequestRejected):
                        await _cancel(racing, discard)
                        raise error
            return None
        except asyncio.CancelledError:
            await _cancel(racing, discard)
            raise


async def _cancel(racing: dict[asyncio.Task[T], PlannedTarget], discard: Discard[T] | None) -> None:
    for task in racing:
        task.cancel()
    for task in racing:
        with contextlib.suppress(asyncio.CancelledError, UpstreamError, ClientError):
            result = await task
            if discard is not None:
                await discard(result)
    racing.clear()
