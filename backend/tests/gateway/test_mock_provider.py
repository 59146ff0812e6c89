"""The deterministic mock: same request, same answer; images counted; faults on command."""

from __future__ import annotations

import random

import msgspec
import pytest

from routerx.providers.base import Call, ProviderConfig, StreamStats
from routerx.providers.errors import FailureKind, UpstreamError
from routerx.providers.mock import MockProvider
from routerx.wire.openai import ChatRequest


def call(content: object, **extra: object) -> Call:
    raw = {"model": "m", "messages": [{"role": "user", "content": content}], **extra}
    return Call(msgspec.convert(raw, ChatRequest), raw, "upstream-m", "req1")


def mock(**faults: object) -> MockProvider:
    config = ProviderConfig(id=1, name="mock-a", type="mock", settings={"mock": faults})
    return MockProvider(config, rng=random.Random(7))


async def test_same_request_same_answer_and_usage() -> None:
    first = await mock().complete(call("hello"))
    second = await mock().complete(call("hello"))
    other = await mock().complete(call("goodbye"))
    decode = msgspec.json.decode
    assert decode(first.body)["choices"] == decode(second.body)["choices"]
    assert first.usage == second.usage
    assert decode(first.body)["choices"] != decode(other.body)["choices"]


async def test_answer_counts_images() -> None:
    parts = [
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": "https://x.example/a.png"},
        {"type": "image_url", "image_url": {"url": "https://x.example/b.png"}},
    ]
    answer = msgspec.json.decode((await mock().complete(call(parts))).body)
    assert "2 image(s)" in answer["choices"][0]["message"]["content"]


async def test_stream_comes_in_several_chunks_with_usage() -> None:
    stats = StreamStats()
    chunks = [msgspec.json.decode(c) async for c in mock().stream(call("hello"), stats)]
    texts = [c["choices"][0]["delta"].get("content") for c in chunks if c["choices"]]
    assert len([t for t in texts if t]) >= 4
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0
    assert stats.usage is not None and stats.finish_reason == "stop"
    complete = await mock().complete(call("hello"))
    assert (
        "".join(t or "" for t in texts)
        == msgspec.json.decode(complete.body)["choices"][0]["message"]["content"]
    )


async def test_max_tokens_caps_the_answer() -> None:
    answer = await mock().complete(call("hello", max_tokens=3))
    assert answer.usage is not None and answer.usage.completion_tokens == 3


async def test_error_status_fault() -> None:
    with pytest.raises(UpstreamError) as error:
        await mock(error_status=429, retry_after_s=3).complete(call("x"))
    assert (error.value.status, error.value.retry_after_s) == (429, 3)
    assert error.value.is_failure


async def test_failure_rate_fails_some_not_all() -> None:
    provider = mock(failure_rate=0.5)
    outcomes = []
    for _ in range(200):
        try:
            await provider.complete(call("x"))
            outcomes.append(True)
        except UpstreamError:
            outcomes.append(False)
    assert 60 < outcomes.count(False) < 140


async def test_stream_error_after_chunks() -> None:
    stats = StreamStats()
    received = []
    with pytest.raises(UpstreamError) as error:
        async for chunk in mock(stream_error_after_chunks=2).stream(call("x"), stats):
            received.append(chunk)
    assert error.value.kind is FailureKind.STREAM
    assert len(received) == 3  # role chunk + two content chunks
