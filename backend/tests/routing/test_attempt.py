"""One attempt from start to end (routing.attempt): its timeouts, the first-chunk peek, its span
started and ended exactly once, and exactly one breaker outcome for its admission."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from routerx.core.log_row import Attempt
from routerx.providers.base import Completion, ProviderConfig, StreamStats, Timeouts
from routerx.providers.errors import FailureKind, UpstreamError
from routerx.routing.attempt import ClientError, StreamStart, TargetAttempt
from routerx.routing.breaker import Admission, Outcome
from routerx.routing.breaker_gate import ProviderBreakers
from routerx.routing.breaker_registry import BreakerRegistry
from routerx.routing.rules import PlannedTarget
from routerx.telemetry import tracing
from routerx.wire.openai import Usage

SHORT = Timeouts(first_token_s=0.05, total_s=0.05)


class RecordingBreakers(ProviderBreakers):
    def __init__(self) -> None:
        super().__init__(BreakerRegistry())
        self.recorded: list[tuple[str, Admission | None, Outcome]] = []

    def record(
        self,
        provider: ProviderConfig,
        admission: Admission | None,
        outcome: Outcome,
        retry_after_s: float | None = None,
        key: str | None = None,
    ) -> None:
        self.recorded.append((provider.name, admission, outcome))
        super().record(provider, admission, outcome, retry_after_s, key)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    tracing.configure_tracing("", SimpleSpanProcessor(exporter))
    yield exporter
    tracing.configure_tracing("")


def make(
    breakers: RecordingBreakers, log: list[Attempt], timeouts: Timeouts = SHORT
) -> TargetAttempt:
    config = ProviderConfig(id=1, name="up", type="mock", timeouts=timeouts)
    target = PlannedTarget(config, "up-model", 0, 1)
    return TargetAttempt(target, breakers.admit(config), breakers, log)


def answering(call: Callable[[], Awaitable[Completion]]) -> Callable[[TargetAttempt], Any]:
    async def perform(attempt: TargetAttempt) -> Completion:
        return await attempt.answer(call())

    return perform


def streaming(chunks: Callable[[], AsyncGenerator[bytes, None]]) -> Callable[[TargetAttempt], Any]:
    async def perform(attempt: TargetAttempt) -> StreamStart:
        return await attempt.open_stream(chunks(), StreamStats())

    return perform


def ended(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return list(exporter.get_finished_spans())


async def test_a_successful_answer_records_once_and_ends_its_span_with_usage(
    spans: InMemorySpanExporter,
) -> None:
    breakers, log = RecordingBreakers(), list[Attempt]()
    attempt = make(breakers, log)

    async def call() -> Completion:
        return Completion(b"{}", Usage(3, 4, 7), "stop")

    completion = await attempt.run(answering(call))
    assert completion.usage == Usage(3, 4, 7)
    assert [outcome for _, _, outcome in breakers.recorded] == [Outcome.SUCCESS]
    assert [(a.outcome, a.status) for a in log] == [("success", 200)]
    (span,) = ended(spans)
    assert span.attributes is not None
    assert span.attributes["gen_ai.usage.output_tokens"] == 4
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop",)


async def test_an_answer_past_the_total_timeout_is_a_timeout_failure(
    spans: InMemorySpanExporter,
) -> None:
    breakers, log = RecordingBreakers(), list[Attempt]()
    attempt = make(breakers, log)

    async def call() -> Completion:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    with pytest.raises(UpstreamError) as raised:
        await attempt.run(answering(call))
    assert raised.value.kind is FailureKind.TIMEOUT and "answer" in raised.value.message
    assert [outcome for _, _, outcome in breakers.recorded] == [Outcome.FAILURE]
    assert [(a.outcome, a.error_type) for a in log] == [("failure", "timeout")]
    (span,) = ended(spans)
    assert span.status.status_code is StatusCode.ERROR


async def test_an_upstream_4xx_is_a_client_error_neutral_to_the_breaker(
    spans: InMemorySpanExporter,
) -> None:
    breakers, log = RecordingBreakers(), list[Attempt]()
    attempt = make(breakers, log)

    async def call() -> Completion:
        raise UpstreamError("bad", kind=FailureKind.HTTP, status=400)

    with pytest.raises(ClientError):
        await attempt.run(answering(call))
    assert [outcome for _, _, outcome in breakers.recorded] == [Outcome.NEUTRAL]
    assert [(a.outcome, a.status) for a in log] == [("client_error", 400)]
    assert len(ended(spans)) == 1


async def test_a_cancelled_attempt_is_neutral_and_ends_its_span(
    spans: InMemorySpanExporter,
) -> None:
    breakers, log = RecordingBreakers(), list[Attempt]()
    attempt = make(breakers, log, Timeouts())
    started = asyncio.Event()

    async def call() -> Completion:
        started.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    task = asyncio.create_task(attempt.run(answering(call)))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [outcome for _, _, outcome in breakers.recorded] == [Outcome.NEUTRAL]
    assert [a.outcome for a in log] == ["cancelled"]
    assert len(ended(spans)) == 1


async def test_the_first_chunk_peek_commits_and_the_span_stays_open_until_the_stream_ends(
    spans: InMemorySpanExporter,
) -> None:
    breakers, log = RecordingBreakers(), list[Attempt]()
    attempt = make(breakers, log)

    async def chunks() -> AsyncGenerator[bytes, None]:
        yield b"first"
        yield b"second"

    start = await attempt.run(streaming(chunks))
    assert start.first == [b"first"] and start.attempt is attempt
    assert [chunk async for chunk in start.chunks] == [b"second"]
    assert breakers.recorded == [], "a committed stream is settled when it ends"
    assert log == []
    assert ended(spans) == []
    start.stats.usage, start.stats.finish_reason = Usage(1, 2, 3), "stop"
    attempt.stream_ended(start.stats)
    attempt.stream_ended(start.stats)
    assert [outcome for _, _, outcome in breakers.recorded] == [Outcome.SUCCESS]
    assert [a.outcome for a in log] == ["success"]
    (span,) = ended(spans)
    assert span.attributes is not None and span.attributes["gen_ai.usage.output_tokens"] == 2


async def test_no_first_chunk_within_the_timeout_closes_the_stream(
    spans: InMemorySpanExporter,
) -> None:
    breakers, log = RecordingBreakers(), list[Attempt]()
    attempt = make(breakers, log)
    closed = asyncio.Event()

    async def chunks() -> AsyncGenerator[bytes, None]:
        try:
            await asyncio.Event().wait()
            yield b"never"
        finally:
            closed.set()

    with pytest.raises(UpstreamError) as raised:
        await attempt.run(streaming(chunks))
    assert raised.value.kind is FailureKind.TIMEOUT and "first token" in raised.value.message
    assert closed.is_set()
    assert [outcome for _, _, outcome in breakers.recorded] == [Outcome.FAILURE]
    assert len(ended(spans)) == 1


async def test_a_stream_without_a_chunk_is_a_protocol_failure(
    spans: InMemorySpanExporter,
) -> None:
    breakers, log = RecordingBreakers(), list[Attempt]()
    attempt = make(breakers, log)

    async def chunks() -> AsyncGenerator[bytes, None]:
        return
        yield b""

    with pytest.raises(UpstreamError) as raised:
        await attempt.run(streaming(chunks))
    assert raised.value.kind is FailureKind.PROTOCOL
    assert [(a.outcome, a.error_type) for a in log] == [("failure", "protocol")]
    assert len(ended(spans)) == 1


async def test_an_interrupted_stream_is_a_breaker_failure_and_one_failed_span(
    spans: InMemorySpanExporter,
) -> None:
    breakers, log = RecordingBreakers(), list[Attempt]()
    attempt = make(breakers, log)

    async def chunks() -> AsyncGenerator[bytes, None]:
        yield b"first"

    start = await attempt.run(streaming(chunks))
    attempt.stream_interrupted(UpstreamError("cut", kind=FailureKind.STREAM))
    attempt.stream_ended(start.stats)  # a late end changes nothing
    # One outcome per attempt: not a success at the commitment and a failure after it.
    assert [outcome for _, _, outcome in breakers.recorded] == [Outcome.FAILURE]
    assert [(a.outcome, a.error_type) for a in log] == [("interrupted", "stream_error")]
    (span,) = ended(spans)
    assert span.status.status_code is StatusCode.ERROR


async def test_a_discarded_hedge_loser_closes_its_stream_and_ends_its_span(
    spans: InMemorySpanExporter,
) -> None:
    breakers, log = RecordingBreakers(), list[Attempt]()
    attempt = make(breakers, log)
    closed = asyncio.Event()

    async def chunks() -> AsyncGenerator[bytes, None]:
        try:
            yield b"first"
            yield b"second"
        finally:
            closed.set()

    start = await attempt.run(streaming(chunks))
    await start.discard()
    assert closed.is_set()
    assert len(ended(spans)) == 1
