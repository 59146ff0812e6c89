"""The fallback loop: try targets in order, skip open breakers, retry with backoff.

A failure-class error (5xx, 408, 429, connect, timeout, stream error) moves on to the next target;
any other upstream 4xx goes straight back to the client. Every attempt, skipped ones included,
is recorded for the request log.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from opentelemetry.trace import Span

from routerx.providers.errors import UpstreamError
from routerx.providers.images import ImageRejected
from routerx.routing.breaker import Admission, Outcome
from routerx.routing.breaker_gate import ProviderBreakers
from routerx.routing.retry import backoff_delay
from routerx.routing.rules import PlannedTarget, RoutePlan
from routerx.storage.log_row import Attempt
from routerx.telemetry import tracing

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


TryTarget = Callable[[PlannedTarget], Awaitable[T]]
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
    winner_span: Span | None = None

    async def run(
        self, try_target: TryTarget[T], discard: Discard[T] | None = None
    ) -> tuple[T, PlannedTarget]:
        """The first success, trying targets in order (hedged when the rule says so).

        `discard` releases a result that lost a hedge race (e.g. closes a stream)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.policy.deadline_s
        targets = list(self.plan.targets)
        hedge_ms = self.plan.rule.hedge_delay_ms
        if hedge_ms and len(targets) > 1:
            won = await self._hedged(targets, try_target, hedge_ms / 1000, discard)
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
                    return await self._try(target, admission, try_target), target
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
        try_target: TryTarget[T],
        hedged: bool = False,
    ) -> T:
        """One attempt, recorded. Raises UpstreamError (failure) or ClientError (4xx)."""
        provider = target.provider
        state = admission.state.value
        self.made += 1
        span = tracing.start_attempt(provider, target.model, hedged)
        started = time.perf_counter()
        try:
            result = await try_target(target)
        except BaseException as error:
            tracing.fail_attempt(span, error)
            self._settle_failure(target, admission, error, started, hedged)
            raise
        self.breakers.record(provider, admission, Outcome.SUCCESS)
        self.attempts.append(
            Attempt(
                provider.name,
                target.model,
                "success",
                _elapsed_ms(started),
                200,
                state,
                hedged=hedged,
            )
        )
        self.winner_span = span
        return result

    def _settle_failure(
        self,
        target: PlannedTarget,
        admission: Admission,
        failure: BaseException,
        started: float,
        hedged: bool,
    ) -> None:
        """Record a failed attempt; an upstream 4xx becomes ClientError (no fallback).

        Only failure-class upstream errors count against the breaker; a client's own error,
        a refused image, a cancellation or our own bug does not."""
        provider = target.provider
        outcome, status = Outcome.NEUTRAL, None
        error_type: str | None = "internal_error"
        label = "failure"
        if isinstance(failure, UpstreamError):
            outcome = Outcome.FAILURE if failure.is_failure else Outcome.NEUTRAL
            label = "failure" if failure.is_failure else "client_error"
            status = failure.status
            error_type = failure.kind.value if status is None else "http_error"
        elif isinstance(failure, ImageRejected):
            label, error_type = "client_error", "image_rejected"
        elif isinstance(failure, asyncio.CancelledError):
            label, error_type = "cancelled", None
        retry_after = failure.retry_after_s if isinstance(failure, UpstreamError) else None
        self.breakers.record(provider, admission, outcome, retry_after)
        self.attempts.append(
            Attempt(
                provider.name,
                target.model,
                label,
                _elapsed_ms(started),
                status,
                admission.state.value,
                error_type,
                hedged,
            )
        )
        if isinstance(failure, UpstreamError):
            if not failure.is_failure:
                raise ClientError(failure, target) from None
            self.last_error = failure

    async def _hedged(
        self,
        targets: list[PlannedTarget],
        try_target: TryTarget[T],
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
            racing[asyncio.create_task(self._try(target, admission, try_target, hedge))] = target
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
                    if isinstance(error, ClientError | ImageRejected):
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
