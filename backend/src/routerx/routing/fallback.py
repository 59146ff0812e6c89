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
from dataclasses import dataclass, field
from typing import TypeVar

from routerx.core.log_row import Attempt
from routerx.providers.errors import RequestRejected, UpstreamError
from routerx.routing.attempt import ClientError, TargetAttempt
from routerx.routing.breaker import Admission
from routerx.routing.breaker_gate import ProviderBreakers
from routerx.routing.retry import backoff_delay
from routerx.routing.rules import PlannedTarget, RoutePlan
from routerx.routing.same_target import RETRY_SAME, same_target_delay

T = TypeVar("T")
# Of the remaining deadline, the share an attempt leaves for the targets after it (at most
# NEXT_TARGET_RESERVE_S): a stalled target must not use up the time the next one needs.
NEXT_TARGET_SHARE = 0.5
NEXT_TARGET_RESERVE_S = 15.0


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
    deadline: float = 0.0  # loop time; set by `run`
    # A request-caused error another model might not have (context length): returned only when
    # no other target answered; its target is not tried again.
    declined: ClientError | None = None
    excluded: set[tuple[str, str]] = field(default_factory=set)
    retried: set[tuple[str, str]] = field(default_factory=set)  # tried again at once

    async def run(
        self, perform: Perform[T], discard: Discard[T] | None = None
    ) -> tuple[T, PlannedTarget]:
        """The first success, trying targets in order (hedged when the rule says so).

        `perform` does one attempt's work; `discard` releases a result that lost a hedge race
        (e.g. closes a stream)."""
        loop = asyncio.get_running_loop()
        deadline = self.deadline = loop.time() + self.policy.deadline_s
        targets = list(self.plan.targets)
        hedge_ms = self.plan.rule.hedge_delay_ms
        # A hedged start whose racers failed is the first round's start: with no target after
        # them, that round still failed and the next one (after the backoff) follows.
        hedged_failed = False
        if hedge_ms and len(targets) > 1:
            won = await self._hedged(targets, perform, hedge_ms / 1000, discard)
            if won is not None:
                return won
            hedged_failed = self.last_error is not None
        for retry_round in range(self.policy.max_attempts):
            failed_this_round, hedged_failed = hedged_failed, False
            for index, target in enumerate(targets):
                if self.made >= self.policy.max_attempts or loop.time() >= deadline:
                    break
                if _key(target) in self.excluded:
                    continue
                admission = self._admit(target)
                if admission is None:
                    continue
                budget = self._budget(targets[index + 1 :])
                try:
                    return await self._try(target, admission, perform, budget_s=budget), target
                except UpstreamError as failure:
                    failed_this_round = True
                    again = await self._retry_same(target, failure, targets[index + 1 :], perform)
                    if again is not None:
                        return again, target
                except ClientError as error:
                    self._decline(error)
            targets = list(self.plan.targets)
            if not failed_this_round or self.made >= self.policy.max_attempts:
                break
            last = self.last_error
            delay = self.policy.backoff(retry_round, last.retry_after_s if last else None, self.rng)
            if delay > self.policy.backoff_max_s or loop.time() + delay >= deadline:
                break  # a long Retry-After: answer now rather than hold the client
            await asyncio.sleep(delay)
        if self.declined is not None:
            raise self.declined
        raise FallbackExhausted(
            self.last_error, self.open_wait if self.last_error is None else None
        )

    async def _retry_same(
        self,
        target: PlannedTarget,
        failure: UpstreamError,
        after: list[PlannedTarget],
        perform: Perform[T],
    ) -> T | None:
        """One more try at a target after a transient failure, when the rule says so."""
        key = _key(target)
        if self.plan.rule.on_transient != RETRY_SAME or key in self.retried:
            return None
        delay = same_target_delay(failure, self.rng)
        if delay is None or not self._room_for_retry(after):
            return None
        if self.remaining_s() - delay <= 0:
            return None
        self.retried.add(key)
        await asyncio.sleep(delay)
        admission = self._admit(target)
        if admission is None:
            return None
        try:
            return await self._try(target, admission, perform, budget_s=self._budget(after))
        except UpstreamError:
            return None
        except ClientError as error:
            self._decline(error)
            return None

    def _room_for_retry(self, after: list[PlannedTarget]) -> bool:
        """A retry on the same target may not take the attempt that an untried target would
        need: the fallback tier must still be reached within the attempt cap."""
        untried = sum(1 for target in after if _key(target) not in self.excluded)
        return self.made + 1 + untried <= self.policy.max_attempts

    def remaining_s(self) -> float:
        return self.deadline - asyncio.get_running_loop().time()

    def _budget(self, after: list[PlannedTarget]) -> float:
        """This attempt's time: what is left of the deadline, less a reserve when another
        target could still answer."""
        remaining = max(0.0, self.remaining_s())
        if any(_key(target) not in self.excluded for target in after):
            return remaining - min(remaining * NEXT_TARGET_SHARE, NEXT_TARGET_RESERVE_S)
        return remaining

    def _decline(self, error: ClientError) -> None:
        """A request-caused error: straight back unless another model may answer it."""
        if not error.error.moves_on:
            raise error
        self.excluded.add(_key(error.target))
        if self.declined is None:
            self.declined = error

    def _admit(self, target: PlannedTarget) -> Admission | None:
        admission = self.breakers.admit(target.provider, target.breaker)
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
        budget_s: float | None = None,
    ) -> T:
        """One attempt (see routing.attempt). Raises UpstreamError (failure) or ClientError."""
        self.made += 1
        attempt = TargetAttempt(target, admission, self.breakers, self.attempts, hedged, budget_s)
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
            budget = self._budget(remaining)
            task = asyncio.create_task(self._try(target, admission, perform, hedge, budget))
            racing[task] = target
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
                    if isinstance(error, ClientError) and error.error.moves_on:
                        self._decline(error)
                    elif isinstance(error, ClientError | RequestRejected):
                        await _cancel(racing, discard)
                        raise error
            return None
        except asyncio.CancelledError:
            await _cancel(racing, discard)
            raise


def _key(target: PlannedTarget) -> tuple[str, str]:
    return target.provider.name, target.model


async def _cancel(racing: dict[asyncio.Task[T], PlannedTarget], discard: Discard[T] | None) -> None:
    for task in racing:
        task.cancel()
    for task in racing:
        with contextlib.suppress(asyncio.CancelledError, UpstreamError, ClientError):
            result = await task
            if discard is not None:
                await discard(result)
    racing.clear()
