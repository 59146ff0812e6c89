"""Streams and bodies that end or look wrong: each surfaces as a classified UpstreamError."""

from __future__ import annotations

import json

import pytest

from routerx.providers import http
from routerx.providers.errors import FailureKind, UpstreamError
from routerx.providers.http import HttpClient
from routerx.telemetry import metrics
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.gemini_server import FakeGemini
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.upstream import FakeUpstream, Scenario, sse
from tests.providers import requests
from tests.providers.harness import ADAPTERS, build_harness, make_call

ENDED_EARLY = "ended the stream before it was complete"


@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_stream_cut_after_the_first_chunk(
    adapter: str, fakes: dict[str, FakeUpstream], http_client: HttpClient
) -> None:
    fake = fakes[adapter]
    frames = fake.stream_frames({"stream": True}, "m", Scenario())[:2]
    fake.script(Scenario(frames=frames))
    harness = build_harness(adapter, fake, http_client)

    with pytest.raises(UpstreamError, match=ENDED_EARLY) as caught:
        await harness.stream(requests.text(stream=True))

    assert caught.value.kind is FailureKind.STREAM


async def test_openai_stream_without_done_is_complete_once_finished(
    openai_fake: FakeOpenAI, http_client: HttpClient
) -> None:
    frames = openai_fake.stream_frames({"stream": True}, "m", Scenario())[:-1]
    openai_fake.script(Scenario(frames=frames))
    harness = build_harness("openai_compatible", openai_fake, http_client)

    stats, chunks = await harness.stream(requests.text(stream=True))

    assert stats.finish_reason == "stop" and chunks


SSE_ADAPTERS = (*ADAPTERS, "vertex", "vertex_anthropic")  # Bedrock frames its own events


@pytest.mark.parametrize("adapter", SSE_ADAPTERS)
async def test_a_malformed_stream_event_is_skipped_and_counted(
    adapter: str, fakes: dict[str, FakeUpstream], http_client: HttpClient
) -> None:
    """One `data:` line that is not JSON, after the first chunk: the stream goes on to its end
    with every word, and the skip is counted for the provider."""
    fake = fakes[adapter]
    fake.script(Scenario(malformed_after_chunks=1))
    harness = build_harness(adapter, fake, http_client)
    skipped = metrics.MALFORMED_STREAM_EVENTS.labels(harness.provider.config.name)
    before = skipped._value.get()

    stats, chunks = await harness.stream(requests.text(stream=True))

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == Scenario().text
    assert stats.finish_reason == "stop" and stats.usage is not None
    assert skipped._value.get() == before + 1


@pytest.mark.parametrize("adapter", (*ADAPTERS, "bedrock", "vertex", "vertex_anthropic"))
async def test_an_answer_over_the_upstream_body_limit_is_a_protocol_error(
    adapter: str,
    fakes: dict[str, FakeUpstream],
    http_client: HttpClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every adapter reads a non-stream answer through the bounded reader: an upstream cannot
    make the gateway buffer more than MAX_UPSTREAM_BODY_BYTES (here lowered to 64 bytes)."""
    monkeypatch.setattr(http, "MAX_UPSTREAM_BODY_BYTES", 64)
    harness = build_harness(adapter, fakes[adapter], http_client)

    with pytest.raises(UpstreamError, match="larger than RouterX accepts") as caught:
        await harness.complete(requests.text())

    assert caught.value.kind is FailureKind.PROTOCOL


@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_unreadable_body_is_a_protocol_error(
    adapter: str, fakes: dict[str, FakeUpstream], http_client: HttpClient
) -> None:
    fakes[adapter].script(Scenario(body=["not", "an", "answer"]))
    harness = build_harness(adapter, fakes[adapter], http_client)

    with pytest.raises(UpstreamError) as caught:
        await harness.complete(requests.text())

    assert caught.value.kind is FailureKind.PROTOCOL and caught.value.client_status == 502


@pytest.mark.parametrize("adapter", ["openai", "gemini"])
async def test_error_object_in_a_200_body(
    adapter: str, fakes: dict[str, FakeUpstream], http_client: HttpClient
) -> None:
    fakes[adapter].script(Scenario(body={"error": {"message": "secret detail", "code": 500}}))
    harness = build_harness(adapter, fakes[adapter], http_client)

    with pytest.raises(UpstreamError) as caught:
        await harness.complete(requests.text())

    assert caught.value.is_failure and "secret detail" not in str(caught.value)


async def test_anthropic_error_event_mid_stream(
    anthropic_fake: FakeAnthropic, http_client: HttpClient
) -> None:
    frames = anthropic_fake.stream_frames({"stream": True}, "m", Scenario())[:3]
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    anthropic_fake.script(Scenario(frames=[*frames, sse(error, "error")]))
    harness = build_harness("anthropic", anthropic_fake, http_client)

    with pytest.raises(UpstreamError) as caught:
        await harness.stream(requests.text(stream=True))

    assert caught.value.kind is FailureKind.STREAM and "Overloaded" not in str(caught.value)


async def test_gemini_candidates_become_choices(
    gemini_fake: FakeGemini, http_client: HttpClient
) -> None:
    body = gemini_fake.answer({}, "gemini-x", Scenario(text="first"))
    second = json.loads(json.dumps(body["candidates"][0]))
    second["index"] = 1
    second["content"]["parts"] = [{"text": "second"}]
    body["candidates"].append(second)
    gemini_fake.script(Scenario(body=body))
    harness = build_harness("gemini", gemini_fake, http_client)

    _, answer = await harness.complete(requests.text(n=2))

    assert [(c.index, c.message.content) for c in answer.choices] == [(0, "first"), (1, "second")]


async def test_gemini_model_path_prefix(gemini_fake: FakeGemini, http_client: HttpClient) -> None:
    harness = build_harness("gemini", gemini_fake, http_client)

    await harness.provider.complete(make_call(requests.text(), "models/gemini-2.5-flash"))

    assert harness.sent.path == "/v1beta/models/gemini-2.5-flash:generateContent"
