"""One conformance suite for every adapter, each against its fake upstream on a real port."""

from __future__ import annotations

import json

import pytest

from routerx.providers.base import StreamStats, Timeouts
from routerx.providers.errors import FailureKind, UpstreamError
from routerx.providers.http import HttpClient
from routerx.wire.openai import ChatCompletionChunk, Usage
from tests.fakes.image_server import FakeImageHost
from tests.fakes.upstream import FakeUpstream, Scenario, ToolCallSpec
from tests.providers import requests
from tests.providers.harness import (
    ADAPTERS,
    CLOUD_ADAPTERS,
    SECRET,
    Harness,
    build_harness,
    make_call,
)

FAKE_TEXT = Scenario().text
FAKE_USAGE = Usage(12, 7, 19)
WEATHER_CALL = ToolCallSpec("get_weather", {"city": "Paris"}, id="call_fake_1")
BYTES_ONLY = frozenset(
    {"gemini", "bedrock", "vertex"}
)  # upstreams that fetch no image URL themselves
# A key the upstream does not know: AWS answers 403 (UnrecognizedClientException), others 401.
AUTH_FAILURE = {"bedrock": 403}


@pytest.fixture(params=ADAPTERS + CLOUD_ADAPTERS)
def harness(
    request: pytest.FixtureRequest, fakes: dict[str, FakeUpstream], http_client: HttpClient
) -> Harness:
    return build_harness(request.param, fakes[request.param], http_client)


def _content(chunks: list[ChatCompletionChunk]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


async def test_text(harness: Harness) -> None:
    completion, answer = await harness.complete(requests.text())

    assert answer.choices[0].message.content == FAKE_TEXT
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage == FAKE_USAGE
    assert (completion.usage, completion.finish_reason) == (FAKE_USAGE, "stop")
    assert requests.sent_turns(harness.adapter, harness.sent.body) == [("user", "Hello")]


async def test_system_prompt(harness: Harness) -> None:
    await harness.complete(requests.with_system())

    assert requests.sent_system(harness.adapter, harness.sent.body) == "You are terse."
    assert requests.sent_turns(harness.adapter, harness.sent.body) == [("user", "Hello")]


async def test_multi_turn(harness: Harness) -> None:
    _, answer = await harness.complete(requests.multi_turn())

    assert answer.choices[0].message.content == FAKE_TEXT
    assert requests.sent_turns(harness.adapter, harness.sent.body) == [
        ("user", "What is 2+2?"),
        ("assistant", "4"),
        ("user", "And times 3?"),
    ]


async def test_image_by_url(harness: Harness, image_host: FakeImageHost) -> None:
    url = f"{image_host.url}/cat.png"
    await harness.complete(requests.image(url))

    sent = requests.sent_images(harness.adapter, harness.sent.body)
    if harness.adapter in BYTES_ONLY:  # these need the bytes: the gateway fetched them
        assert sent == [requests.PNG_DATA_URL]
        assert image_host.paths == ["/cat.png"]
    else:  # the others fetch the URL themselves
        assert sent == [url]
        assert image_host.paths == []


async def test_image_as_data_url(harness: Harness) -> None:
    await harness.complete(requests.image(requests.PNG_DATA_URL))

    assert requests.sent_images(harness.adapter, harness.sent.body) == [requests.PNG_DATA_URL]


async def test_stream_with_usage(harness: Harness) -> None:
    stats, chunks = await harness.stream(requests.text(stream=True))

    assert chunks[0].choices[0].delta.role == "assistant"
    assert _content(chunks) == FAKE_TEXT
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage == FAKE_USAGE
    assert (stats.usage, stats.finish_reason, stats.chunks) == (FAKE_USAGE, "stop", len(chunks))


async def test_tool_call(harness: Harness) -> None:
    harness.fake.script(Scenario(tool_call=WEATHER_CALL))
    completion, answer = await harness.complete(requests.tools())

    calls = answer.choices[0].message.tool_calls
    assert calls is not None and len(calls) == 1
    assert calls[0].function.name == "get_weather"
    assert json.loads(calls[0].function.arguments) == {"city": "Paris"}
    assert calls[0].id
    assert answer.choices[0].finish_reason == completion.finish_reason == "tool_calls"


async def test_tool_call_stream(harness: Harness) -> None:
    harness.fake.script(Scenario(tool_call=WEATHER_CALL))
    stats, chunks = await harness.stream(requests.tools(stream=True))

    deltas = [call for c in chunks if c.choices for call in c.choices[0].delta.tool_calls or []]
    assert deltas[0].id and deltas[0].type == "function"
    assert deltas[0].function is not None and deltas[0].function["name"] == "get_weather"
    arguments = "".join((d.function or {}).get("arguments", "") for d in deltas)
    assert json.loads(arguments) == {"city": "Paris"}
    assert {d.index for d in deltas} == {0}
    assert stats.finish_reason == "tool_calls"
    assert chunks[-1].usage == FAKE_USAGE


@pytest.mark.parametrize(
    ("status", "is_failure"), [(400, False), (401, True), (429, True), (500, True)]
)
async def test_upstream_error_status(harness: Harness, status: int, is_failure: bool) -> None:
    harness.fake.script(Scenario.fail(status, retry_after="7"))

    with pytest.raises(UpstreamError) as caught:
        await harness.complete(requests.text())

    error = caught.value
    assert (error.status, error.kind, error.is_failure) == (status, FailureKind.HTTP, is_failure)
    assert error.message.startswith(f"Upstream provider test-{harness.adapter} returned {status}")
    for leak in (SECRET, harness.fake.url, "127.0.0.1", "Fake", "Rate limit"):
        assert leak not in str(error)
    assert error.retry_after_s == (7.0 if status == 429 else None)


async def test_stream_upstream_error_status(harness: Harness) -> None:
    harness.fake.script(Scenario.fail(429, retry_after_ms="1500"))

    with pytest.raises(UpstreamError) as caught:
        await harness.stream(requests.text(stream=True))

    assert (caught.value.status, caught.value.retry_after_s) == (429, 1.5)


async def test_timeout(harness: Harness, http_client: HttpClient) -> None:
    slow = build_harness(
        harness.adapter, harness.fake, http_client, timeouts=Timeouts(connect_s=1, total_s=0.3)
    )
    harness.fake.script(Scenario(delay_s=2.0))

    with pytest.raises(UpstreamError) as caught:
        await slow.complete(requests.text())

    assert caught.value.kind is FailureKind.TIMEOUT
    assert caught.value.is_failure and caught.value.client_status == 504


async def test_error_event_inside_stream(harness: Harness) -> None:
    harness.fake.script(Scenario(error_after_chunks=2))

    with pytest.raises(UpstreamError) as caught:
        await harness.stream(requests.text(stream=True))

    assert caught.value.kind is FailureKind.STREAM and caught.value.is_failure
    assert SECRET not in str(caught.value)


async def test_connection_reset_mid_stream(harness: Harness) -> None:
    harness.fake.script(Scenario(reset_after_chunks=2))

    with pytest.raises(UpstreamError) as caught:
        await harness.stream(requests.text(stream=True))

    assert caught.value.kind is FailureKind.STREAM


async def test_connection_reset_before_answer(harness: Harness) -> None:
    harness.fake.script(Scenario(reset_after_chunks=0))

    with pytest.raises(UpstreamError) as caught:
        await harness.complete(requests.text())

    assert caught.value.is_failure


async def test_closing_the_stream_early_cancels_the_upstream(harness: Harness) -> None:
    harness.fake.script(Scenario(chunk_delay_s=0.3, text="one two three four five six"))
    stream = harness.provider.stream(make_call(requests.text(stream=True)), StreamStats())

    assert await anext(stream)
    await stream.aclose()  # what a client disconnect does to the gateway's relay

    await harness.fake.wait_for_disconnect()
    assert harness.fake.disconnects == 1


async def test_secret_never_in_an_error(harness: Harness, http_client: HttpClient) -> None:
    unique = "sk-unique-7f3c9a1e-should-never-leak"
    keyed = build_harness(harness.adapter, harness.fake, http_client, secret=unique)
    harness.fake.expected_key = "the-right-key"

    with pytest.raises(UpstreamError) as caught:
        await keyed.complete(requests.text())

    assert caught.value.status == AUTH_FAILURE.get(harness.adapter, 401)
    error_text = f"{caught.value!s} {caught.value!r} {caught.value.args} {caught.value.message}"
    assert unique not in error_text
    assert unique not in repr(keyed.provider.config)
