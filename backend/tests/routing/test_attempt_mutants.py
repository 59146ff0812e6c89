"""One attempt's less travelled paths: a stream cancelled or failing before its first chunk is
closed, what the request log line of an attempt says (latency, hedged, error type), and a client
error carrying what the pipeline answers with."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator

import pytest

from routerx.core.log_row import Attempt
from routerx.providers.base import ProviderConfig, StreamStats, Timeouts
from routerx.providers.errors import FailureKind, RequestRejected, UpstreamError
from routerx.providers.images import ImageRejected
from routerx.routing.attempt import ClientError, StreamStart, TargetAttempt
from routerx.routing.breaker_gate import ProviderBreakers
from routerx.routing.breaker_registry import BreakerRegistry
from routerx.routing.rules import PlannedTarget

UPSTREAM_LATENCY_S = 0.05


def attempt_at(log: list[Attempt]) -> TargetAttempt:
    breakers = ProviderBreakers(BreakerRegistry())
    config = ProviderConfig(id=1, name="up", type="mock", timeouts=Timeouts())
    return TargetAttempt(
        PlannedTarget(config, "up-model", 0, 1), breakers.admit(config), breakers, log
    )


async def test_a_stream_cancelled_before_its_first_chunk_is_closed() -> None:
    log: list[Attempt] = []
    attempt = attempt_at(log)
    waiting, closed = asyncio.Event(), asyncio.Event()

    async def chunks() -> AsyncGenerator[bytes, None]:
        try:
            waiting.set()
            await asyncio.Event().wait()
            yield b"never"
        finally:
            closed.set()

    async def perform(target_attempt: TargetAttempt) -> StreamStart:
        return await target_attempt.open_stream(chunks(), StreamStats())

    task = asyncio.create_task(attempt.run(perform))
    await waiting.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert closed.is_set()  # closed by the attempt, not left to the garbage collector
    assert [(a.outcome, a.error_type) for a in log] == [("cancelled", None)]


async def test_the_log_line_measures_the_attempt_and_is_not_hedged_by_default() -> None:
    log: list[Attempt] = []
    attempt = attempt_at(log)

    async def perform(_: TargetAttempt) -> str:
        await asyncio.sleep(UPSTREAM_LATENCY_S)  # the upstream's own latency
        return "answer"

    started = time.perf_counter()
    assert await attempt.run(perform) == "answer"
    elapsed_ms = (time.perf_counter() - started) * 1000
    (line,) = log
    assert (line.provider, line.model, line.outcome, line.status) == (
        "up",
        "up-model",
        "success",
        200,
    )
    assert line.hedged is False and line.breaker_state == "closed"
    assert UPSTREAM_LATENCY_S * 1000 <= line.latency_ms <= elapsed_ms


async def test_a_connect_failure_is_logged_with_its_kind_and_no_status() -> None:
    log: list[Attempt] = []

    async def perform(_: TargetAttempt) -> str:
        raise UpstreamError("refused", kind=FailureKind.CONNECT, retry_after_s=3.0)

    with pytest.raises(UpstreamError):
        await attempt_at(log).run(perform)
    assert [(a.outcome, a.status, a.error_type) for a in log] == [("failure", None, "connect")]


async def test_a_5xx_is_logged_as_an_http_error_with_its_status() -> None:
    log: list[Attempt] = []

    async def perform(_: TargetAttempt) -> str:
        raise UpstreamError("down", kind=FailureKind.HTTP, status=503)

    with pytest.raises(UpstreamError):
        await attempt_at(log).run(perform)
    assert [(a.outcome, a.status, a.error_type) for a in log] == [("failure", 503, "http_error")]


@pytest.mark.parametrize(
    ("error", "error_type"),
    [
        (RequestRejected("`n` is not supported.", "n", "n_unsupported"), "n_unsupported"),
        (ImageRejected("too large", "image_too_large"), "image_rejected"),
    ],
)
async def test_a_request_the_gateway_refuses_is_a_client_error_in_the_log(
    error: RequestRejected, error_type: str
) -> None:
    log: list[Attempt] = []

    async def perform(_: TargetAttempt) -> str:
        raise error

    with pytest.raises(RequestRejected):
        await attempt_at(log).run(perform)
    assert [(a.outcome, a.error_type) for a in log] == [("client_error", error_type)]


async def test_our_own_bug_is_an_internal_error_neutral_to_the_breaker() -> None:
    log: list[Attempt] = []
    attempt = attempt_at(log)

    async def perform(_: TargetAttempt) -> str:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        await attempt.run(perform)
    assert [(a.outcome, a.error_type) for a in log] == [("failure", "internal_error")]
    view = attempt.breakers.view("up")
    assert view is None or view.calls_in_window == 0


async def test_a_client_error_carries_the_upstream_error_and_its_target() -> None:
    log: list[Attempt] = []
    attempt = attempt_at(log)
    upstream = UpstreamError("bad field", kind=FailureKind.HTTP, status=422)

    async def perform(_: TargetAttempt) -> str:
        raise upstream

    with pytest.raises(ClientError) as raised:
        await attempt.run(perform)
    assert raised.value.error is upstream and raised.value.target is attempt.target
    assert str(raised.value) == "bad field"


CONTENT = b'{"choices":[{"index":0,"delta":{"content":"hi"}}]}'
ROLE_ONLY = b'{"choices":[{"index":0,"delta":{"role":"assistant"}}]}'
PROMPT_FILTER = b'{"choices":[],"prompt_filter_results":[{"prompt_index":0}]}'


def breaker_calls(attempt: TargetAttempt) -> tuple[int, int]:
    view = attempt.breakers.view(attempt.target.breaker)
    return (0, 0) if view is None else (view.calls_in_window, view.failures_in_window)


async def opened(attempt: TargetAttempt, *chunks: bytes) -> StreamStart:
    async def stream() -> AsyncGenerator[bytes, None]:
        for chunk in chunks:
            yield chunk
        await asyncio.Event().wait()

    return await attempt.open_stream(stream(), StreamStats())


async def test_the_prompt_filter_chunk_is_dropped_and_empty_chunks_held() -> None:
    start = await opened(attempt_at([]), PROMPT_FILTER, ROLE_ONLY, CONTENT)
    assert start.first == [ROLE_ONLY, CONTENT]
    await start.chunks.aclose()


async def test_a_cancelled_stream_is_settled_once_and_neutral_to_the_breaker() -> None:
    log: list[Attempt] = []
    attempt = attempt_at(log)
    start = await opened(attempt, CONTENT)
    attempt.stream_cancelled(start.stats)
    attempt.stream_cancelled(start.stats)  # a second end changes nothing
    attempt.stream_ended(start.stats)
    await start.chunks.aclose()
    assert [(a.outcome, a.status) for a in log] == [("cancelled", None)]
    assert breaker_calls(attempt) == (0, 0)


async def test_a_completed_stream_is_one_success_with_status_200() -> None:
    log: list[Attempt] = []
    attempt = attempt_at(log)
    start = await opened(attempt, CONTENT)
    attempt.stream_ended(start.stats)
    attempt.stream_ended(start.stats)
    await start.chunks.aclose()
    assert [(a.outcome, a.status) for a in log] == [("success", 200)]
    assert breaker_calls(attempt) == (1, 0)


def test_each_timeout_is_capped_by_what_is_left_of_the_deadline() -> None:
    attempt = attempt_at([])
    assert attempt._capped(30.0) == 30.0  # no deadline given: the provider's own timeout
    attempt.budget_s = 2.5
    assert attempt._capped(30.0) == 2.5
    assert attempt._capped(1.0) == 1.0
    attempt.budget_s = -0.5  # the deadline has passed: no time at all, never a negative one
    assert attempt._capped(30.0) == 0.0
