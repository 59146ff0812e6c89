"""One attempt at one target, from start to end: its span, its timeouts, the first-chunk peek of
a stream, its breaker outcome and its line in the request log.

The fallback loop decides which targets to try; everything that happens to a single try lives
here, so a span is ended and a breaker outcome recorded in exactly one place.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import TypeVar

from opentelemetry.trace import Span

from routerx.core.log_row import Attempt
from routerx.providers.base import Completion, StreamStats
from routerx.providers.errors import FailureKind, RequestRejected, UpstreamError
from routerx.providers.images import ImageRejected
from routerx.routing.breaker import Admission, Outcome
from routerx.routing.breaker_gate import ProviderBreakers
from routerx.routing.commit import ChunkKind, commit_kind
from routerx.routing.rules import PlannedTarget
from routerx.telemetry import tracing
from routerx.wire.openai import Usage

T = TypeVar("T")


class ClientError(Exception):
    """An upstream 4xx that is the client's to fix: no fallback."""

    def __init__(self, error: UpstreamError, target: PlannedTarget) -> None:
        super().__init__(error.message)
        self.error = error
        self.target = target


def timeout_error(target: PlannedTarget, waiting_for: str) -> UpstreamError:
    return UpstreamError(
        f"Provider {target.provider.name} timed out waiting for the {waiting_for}.",
        kind=FailureKind.TIMEOUT,
    )


class TargetAttempt:
    """One try at one target. The span starts when the attempt is made; `run` settles it."""

    __slots__ = (
        "admission",
        "breakers",
        "budget_s",
        "hedged",
        "log",
        "open",
        "span",
        "started",
        "success_label",
        "target",
    )

    def __init__(
        self,
        target: PlannedTarget,
        admission: Admission,
        breakers: ProviderBreakers,
        log: list[Attempt],
        hedged: bool = False,
        budget_s: float | None = None,
    ) -> None:
        self.target = target
        self.admission = admission
        self.breakers = breakers
        self.log = log
        self.hedged = hedged
        # At most this long, whatever the provider's own timeouts: the request's remaining
        # deadline less a reserve for the next target.
        self.budget_s = budget_s
        # A committed stream is settled when it ends, not when it opens: one outcome each.
        self.open = False
        self.success_label = "success"
        self.span: Span | None = tracing.start_attempt(target.provider, target.model, hedged)
        self.started = time.perf_counter()

    def _capped(self, timeout_s: float) -> float:
        return timeout_s if self.budget_s is None else max(0.0, min(timeout_s, self.budget_s))

    async def run(self, perform: Callable[[TargetAttempt], Awaitable[T]]) -> T:
        """Perform the attempt and record its outcome once. Raises UpstreamError (a failure,
        worth the next target), ClientError (an upstream 4xx) or what `perform` raised."""
        try:
            result = await perform(self)
        except BaseException as error:
            self._end_span_failed(error)
            self._record_failure(error)
            raise
        if not self.open:
            self._settle(Outcome.SUCCESS, self.success_label, 200)
        return result

    def _settle(
        self,
        outcome: Outcome,
        label: str,
        status: int | None,
        error_type: str | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        target = self.target
        breakers = self.breakers
        breakers.record(target.provider, self.admission, outcome, retry_after_s, target.breaker)
        self.log.append(
            Attempt(
                self.target.provider.name,
                self.target.model,
                label,
                self._elapsed_ms(),
                status,
                self.admission.state.value,
                error_type,
                self.hedged,
            )
        )

    async def answer(self, call: Awaitable[Completion]) -> Completion:
        """A whole answer within the provider's total timeout; the span ends with its usage."""
        try:
            async with asyncio.timeout(self._capped(self.target.provider.timeouts.total_s)):
                completion = await call
        except TimeoutError:
            raise timeout_error(self.target, "answer") from None
        self._end_span(completion.usage, completion.finish_reason)
        return completion

    async def open_stream(
        self, chunks: AsyncGenerator[bytes, None], stats: StreamStats
    ) -> StreamStart:
        """Wait within the first-token timeout for the first chunk with content, a tool call
        or a finish reason: the point of commitment. Chunks that carry nothing (a role-only
        delta, Anthropic's message_start) are held until then, and an Azure prompt-filter
        chunk is dropped. Before it, a failure is the fallback loop's to handle; after it,
        the stream's."""
        held: list[bytes] = []
        try:
            async with asyncio.timeout(self._capped(self.target.provider.timeouts.first_token_s)):
                while True:
                    chunk = await anext(chunks)
                    kind = commit_kind(chunk)
                    if kind is not ChunkKind.FILTER:
                        held.append(chunk)
                    if kind is ChunkKind.CONTENT:
                        break
        except TimeoutError:
            await chunks.aclose()
            raise timeout_error(self.target, "first token") from None
        except StopAsyncIteration:
            raise UpstreamError(
                f"Provider {self.target.provider.name} ended the stream without content.",
                kind=FailureKind.PROTOCOL,
            ) from None
        except BaseException:
            await chunks.aclose()
            raise
        self.open = True
        return StreamStart(held, chunks, stats, self)

    def stream_ended(self, stats: StreamStats) -> None:
        """The committed stream completed: the attempt's one outcome, a success."""
        self._end_span(stats.usage, stats.finish_reason)
        if self.open:
            self.open = False
            self._settle(Outcome.SUCCESS, self.success_label, 200)

    def stream_cancelled(self, stats: StreamStats) -> None:
        """The client left, or the stream lost a hedge race: neutral for the breaker."""
        self._end_span(stats.usage, stats.finish_reason)
        if self.open:
            self.open = False
            self._settle(Outcome.NEUTRAL, "cancelled", None)

    def stream_interrupted(self, error: UpstreamError) -> None:
        """The upstream failed after the commitment: one breaker failure, a failed span."""
        self._end_span_failed(error)
        if self.open:
            self.open = False
            status = error.status
            error_type = error.kind.value if status is None else "http_error"
            self._settle(Outcome.FAILURE, "interrupted", status, error_type, error.retry_after_s)

    def _end_span(self, usage: Usage | None, finish_reason: str | None) -> None:
        span, self.span = self.span, None
        tracing.finish_attempt(span, self.target.model, usage, finish_reason)

    def _end_span_failed(self, error: BaseException) -> None:
        span, self.span = self.span, None
        tracing.fail_attempt(span, error)

    def _elapsed_ms(self) -> float:
        return round((time.perf_counter() - self.started) * 1000, 3)

    def _record_failure(self, failure: BaseException) -> None:
        """Only failure-class upstream errors count against the breaker; a client's own error,
        a refused image, a cancellation or our own bug does not. An upstream 4xx becomes
        ClientError (no fallback)."""
        outcome, status = Outcome.NEUTRAL, None
        error_type: str | None = "internal_error"
        label = "failure"
        retry_after = None
        if isinstance(failure, UpstreamError):
            outcome = Outcome.FAILURE if failure.is_failure else Outcome.NEUTRAL
            label = "failure" if failure.is_failure else "client_error"
            status = failure.status
            error_type = failure.kind.value if status is None else "http_error"
            retry_after = failure.retry_after_s
        elif isinstance(failure, RequestRejected):
            label = "client_error"
            error_type = "image_rejected" if isinstance(failure, ImageRejected) else failure.code
        elif isinstance(failure, asyncio.CancelledError):
            label, error_type = "cancelled", None
        self._settle(outcome, label, status, error_type, retry_after)
        if isinstance(failure, UpstreamError) and not failure.is_failure:
            raise ClientError(failure, self.target) from None


class StreamStart:
    """A stream whose first content has arrived (`first`: the chunks up to it), still owned by
    the attempt that opened it."""

    __slots__ = ("attempt", "chunks", "first", "stats")

    def __init__(
        self,
        first: list[bytes],
        chunks: AsyncGenerator[bytes, None],
        stats: StreamStats,
        attempt: TargetAttempt,
    ) -> None:
        self.first = first
        self.chunks = chunks
        self.stats = stats
        self.attempt = attempt

    async def discard(self) -> None:
        """Release a stream that lost a hedge race."""
        await self.chunks.aclose()
        self.attempt.stream_cancelled(self.stats)
