"""Anthropic Messages in, Anthropic out: the adapter sends the client's own body (only `model`
replaced) and relays Anthropic's answer and events as they came, while filling usage and finish
for the log."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from routerx.gateway.fronts.messages import MessagesFront
from routerx.providers.base import Call, StreamStats
from routerx.providers.errors import UpstreamError
from routerx.providers.http import HttpClient
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.upstream import Scenario, ToolCallSpec
from tests.providers.harness import UPSTREAM_MODEL, Harness, build_harness

FRONT = MessagesFront()
CLIENT_BODY: dict[str, Any] = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 4096,
    "system": [{"type": "text", "text": "Long prompt.", "cache_control": {"type": "ephemeral"}}],
    "messages": [
        {"role": "user", "content": "Think, then answer."},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "Earlier thought.", "signature": "sig-abc"},
                {"type": "text", "text": "Earlier answer."},
            ],
        },
        {
            "role": "user",
            "content": [{"type": "text", "text": "Again.", "cache_control": {"type": "ephemeral"}}],
        },
    ],
    "thinking": {"type": "enabled", "budget_tokens": 2048},
    "metadata": {"user_id": "u-1"},
}


@pytest.fixture
def harness(anthropic_fake: FakeAnthropic, http_client: HttpClient) -> Harness:
    return build_harness("anthropic", anthropic_fake, http_client)


def native_call(body: dict[str, Any]) -> Call:
    canonical = FRONT.decode(body)
    assert canonical.native is not None
    return Call(canonical.request, canonical.raw, UPSTREAM_MODEL, "req-native", canonical.native)


async def test_the_clients_body_is_sent_with_only_the_model_replaced(harness: Harness) -> None:
    completion = await harness.provider.complete(native_call(CLIENT_BODY))
    assert harness.sent.body == {**CLIENT_BODY, "model": UPSTREAM_MODEL}
    assert completion.api == "messages"
    answer = json.loads(completion.body)
    assert answer["type"] == "message" and answer["id"] == FakeAnthropic.message_id
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (12, 7)
    assert completion.finish_reason == "stop"
    assert FRONT.encode_completion(completion, FRONT.decode(CLIENT_BODY)) == completion.body


async def test_a_streamed_answer_is_relayed_event_by_event(harness: Harness) -> None:
    call = tool_scenario(harness)
    stats = StreamStats()
    frames = [frame async for frame in harness.provider.stream(call, stats)]
    assert harness.sent.body == {**CLIENT_BODY, "model": UPSTREAM_MODEL, "stream": True}
    names = [frame.split(b"\n", 1)[0] for frame in frames]
    assert names[0] == b"event: message_start" and names[-1] == b"event: message_stop"
    assert b"event: ping" in names
    assert stats.finish_reason == "tool_calls"
    assert stats.usage is not None
    assert (stats.usage.prompt_tokens, stats.usage.completion_tokens) == (12, 7)
    expected = harness.fake.stream_frames(
        harness.sent.body, UPSTREAM_MODEL, Scenario(tool_call=TOOL_CALL)
    )
    assert [parse(f) for f in frames] == [parse(f) for f in expected]
    encoder = FRONT.stream_encoder(FRONT.decode({**CLIENT_BODY, "stream": True}), "r")
    relayed = encoder.start() + b"".join(encoder.chunk(f) for f in frames) + encoder.finish(stats)
    assert relayed == b"".join(frames)


TOOL_CALL = ToolCallSpec("get_weather", {"city": "Paris"}, id="toolu_1")


def tool_scenario(harness: Harness) -> Call:
    harness.fake.script(Scenario(tool_call=TOOL_CALL))
    return native_call({**CLIENT_BODY, "stream": True})


def parse(frame: bytes) -> tuple[str, Any]:
    name, data = frame.decode().strip().split("\n")
    return name, json.loads(data.removeprefix("data: "))


async def test_an_error_event_in_the_stream_is_raised(harness: Harness) -> None:
    harness.fake.script(Scenario(error_after_chunks=2))
    frames: list[bytes] = []
    with pytest.raises(UpstreamError):
        async for frame in harness.provider.stream(
            native_call({**CLIENT_BODY, "stream": True}), StreamStats()
        ):
            frames.append(frame)
    assert len(frames) == 2


async def test_a_stream_cut_before_message_stop_is_an_error(harness: Harness) -> None:
    harness.fake.script(Scenario(reset_after_chunks=3))
    with pytest.raises(UpstreamError):
        async for _ in harness.provider.stream(
            native_call({**CLIENT_BODY, "stream": True}), StreamStats()
        ):
            pass


async def test_without_a_native_body_the_request_is_translated(harness: Harness) -> None:
    canonical = FRONT.decode(CLIENT_BODY)
    call = Call(canonical.request, canonical.raw, UPSTREAM_MODEL, "req-translated")
    completion = await harness.provider.complete(call)
    assert completion.api == "chat"
    assert msgspec.json.decode(completion.body)["object"] == "chat.completion"
    assert "sig-abc" not in json.dumps(harness.sent.body)  # thinking blocks are not translated
