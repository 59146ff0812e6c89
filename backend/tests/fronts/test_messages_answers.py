"""chat.completion and chunks -> Anthropic answers, read back by the official anthropic SDK.

The SDK parses the encoded bytes through an in-process transport, so these tests check the
translation against the SDK's own models and stream accumulator; the gateway tests check the same
through a running gateway.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anthropic
import httpx2 as httpx
import pytest

from routerx.gateway import errors
from routerx.gateway.fronts.base import Canonical
from routerx.gateway.fronts.messages import MessagesFront
from routerx.providers.base import Completion, StreamStats
from routerx.wire.openai import Usage

FRONT = MessagesFront()


def canonical(**fields: Any) -> Canonical:
    raw = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 256,
        "messages": [{"role": "user", "content": "Hello"}],
        **fields,
    }
    return FRONT.decode(raw)


def completion(message: dict[str, Any], finish: str, **extra: Any) -> Completion:
    body = {
        "id": "chatcmpl-req1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4.1-mini",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", **message},
                "finish_reason": finish,
                **extra,
            }
        ],
        "usage": {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25},
    }
    return Completion(json.dumps(body).encode(), finish_reason=finish)


def sdk(handler: Callable[[httpx.Request], httpx.Response]) -> anthropic.Anthropic:
    transport = httpx.MockTransport(handler)
    return anthropic.Anthropic(
        api_key="k",
        base_url="http://gateway.test",
        http_client=httpx.Client(transport=transport),
        max_retries=0,
    )


def answer_with(body: bytes, status: int = 200) -> anthropic.Anthropic:
    return sdk(
        lambda request: httpx.Response(
            status, content=body, headers={"content-type": "application/json"}
        )
    )


def stream_with(body: bytes) -> anthropic.Anthropic:
    return sdk(
        lambda request: httpx.Response(
            200, content=body, headers={"content-type": "text/event-stream"}
        )
    )


def create(client: anthropic.Anthropic) -> anthropic.types.Message:
    return client.messages.create(
        model="claude-sonnet-4-5", max_tokens=256, messages=[{"role": "user", "content": "Hello"}]
    )


def test_text_answer_is_an_sdk_message() -> None:
    body = FRONT.encode_completion(completion({"content": "Hi there"}, "stop"), canonical())
    message = create(answer_with(body))
    assert message.id == "msg_req1"
    assert message.type == "message" and message.role == "assistant"
    assert message.model == "gpt-4.1-mini"
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].text == "Hi there"  # type: ignore[union-attr]
    assert message.stop_reason == "end_turn"
    assert message.stop_sequence is None
    assert message.usage.input_tokens == 20
    assert message.usage.output_tokens == 5


def test_tool_calls_become_tool_use_blocks() -> None:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
    }
    answer = completion({"content": "Let me check.", "tool_calls": [call]}, "tool_calls")
    message = create(answer_with(FRONT.encode_completion(answer, canonical())))
    assert message.stop_reason == "tool_use"
    text, tool = message.content
    assert text.type == "text" and text.text == "Let me check."
    assert tool.type == "tool_use"
    assert (tool.id, tool.name, tool.input) == ("call_1", "get_weather", {"city": "Paris"})


def test_arguments_that_are_not_an_object_are_kept() -> None:
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "[1, 2"}}
    message = create(
        answer_with(
            FRONT.encode_completion(completion({"tool_calls": [call]}, "tool_calls"), canonical())
        )
    )
    assert message.content[0].input == {"arguments": "[1, 2"}  # type: ignore[union-attr]


def test_reasoning_content_becomes_a_thinking_block_first() -> None:
    answer = completion({"content": "42", "reasoning_content": "Think first."}, "stop")
    message = create(answer_with(FRONT.encode_completion(answer, canonical())))
    assert [block.type for block in message.content] == ["thinking", "text"]
    assert message.content[0].thinking == "Think first."  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("finish", "extra", "stops", "reason", "sequence"),
    [
        ("stop", {}, None, "end_turn", None),
        ("length", {}, None, "max_tokens", None),
        ("content_filter", {}, None, "refusal", None),
        ("stop", {"stop_reason": "END"}, ["END"], "stop_sequence", "END"),
        ("stop", {"stop_reason": "OTHER"}, ["END"], "end_turn", None),
        ("stop", {"stop_reason": 50256}, ["END"], "end_turn", None),
    ],
)
def test_stop_reasons(
    finish: str, extra: dict[str, Any], stops: list[str] | None, reason: str, sequence: str | None
) -> None:
    fields = {"stop_sequences": stops} if stops else {}
    answer = completion({"content": "x"}, finish, **extra)
    message = create(answer_with(FRONT.encode_completion(answer, canonical(**fields))))
    assert (message.stop_reason, message.stop_sequence) == (reason, sequence)


def test_cached_prompt_tokens_are_reported_apart() -> None:
    answer = json.loads(completion({"content": "x"}, "stop").body)
    answer["usage"]["prompt_tokens_details"] = {"cached_tokens": 15}
    answer["usage"]["cache_creation_input_tokens"] = 3
    body = FRONT.encode_completion(Completion(json.dumps(answer).encode()), canonical())
    usage = create(answer_with(body)).usage
    assert (
        usage.input_tokens,
        usage.cache_read_input_tokens,
        usage.cache_creation_input_tokens,
    ) == (2, 15, 3)


def test_usage_falls_back_to_what_the_adapter_reported() -> None:
    answer = json.loads(completion({"content": "x"}, "stop").body)
    del answer["usage"]
    done = Completion(json.dumps(answer).encode(), Usage(9, 4, 13), "stop")
    usage = create(answer_with(FRONT.encode_completion(done, canonical()))).usage
    assert (usage.input_tokens, usage.output_tokens) == (9, 4)


def test_an_answer_that_is_not_json_is_a_502_not_a_crash() -> None:
    with pytest.raises(errors.GatewayError) as caught:
        FRONT.encode_completion(Completion(b"<html>"), canonical())
    assert caught.value.status == 502


# --- streams ----------------------------------------------------------------------------


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> bytes:
    choices = (
        [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish, **extra}]
    )
    return json.dumps(
        {
            "id": "chatcmpl-r",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": choices,
        }
    ).encode()


def usage_chunk(prompt: int, completion_tokens: int) -> bytes:
    body = json.loads(chunk())
    body["usage"] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt + completion_tokens,
    }
    return json.dumps(body).encode()


def encode_stream(chunks: list[bytes], stats: StreamStats | None = None, **fields: Any) -> bytes:
    encoder = FRONT.stream_encoder(canonical(stream=True, **fields), "req9")
    return (
        encoder.start()
        + b"".join(encoder.chunk(c) for c in chunks)
        + encoder.finish(stats or StreamStats())
    )


def events_of(sse: bytes) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for frame in sse.decode().strip().split("\n\n"):
        name_line, data_line = frame.split("\n")
        assert name_line.startswith("event: ") and data_line.startswith("data: ")
        data = json.loads(data_line[6:])
        assert data["type"] == name_line[7:]  # the event name and the payload type agree
        events.append((name_line[7:], data))
    return events


def test_text_stream_event_sequence() -> None:
    sse = encode_stream(
        [
            chunk({"role": "assistant", "content": ""}),
            chunk({"content": "Hel"}),
            chunk({"content": "lo"}),
            chunk({}, "stop"),
            usage_chunk(11, 2),
        ]
    )
    names = [name for name, _ in events_of(sse)]
    assert names == [
        "message_start",
        "ping",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    with stream_with(sse).messages.stream(
        model="claude-sonnet-4-5", max_tokens=256, messages=[{"role": "user", "content": "Hello"}]
    ) as stream:
        texts = list(stream.text_stream)
        final = stream.get_final_message()
    assert texts == ["Hel", "lo"]
    assert final.id == "msg_req9"
    assert final.content[0].text == "Hello"  # type: ignore[union-attr]
    assert final.stop_reason == "end_turn"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (11, 2)


def test_thinking_text_and_tool_calls_each_get_their_own_block() -> None:
    chunks = [
        chunk({"role": "assistant", "content": ""}),
        chunk({"reasoning_content": "Plan."}),
        chunk({"content": "Calling."}),
        chunk(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_a",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": ""},
                    }
                ]
            }
        ),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}),
        chunk(
            {
                "tool_calls": [
                    {
                        "index": 1,
                        "id": "call_b",
                        "type": "function",
                        "function": {"name": "get_time", "arguments": "{}"},
                    }
                ]
            }
        ),
        chunk({}, "tool_calls"),
        usage_chunk(30, 12),
    ]
    sse = encode_stream(chunks)
    starts = [data for name, data in events_of(sse) if name == "content_block_start"]
    assert [(s["index"], s["content_block"]["type"]) for s in starts] == [
        (0, "thinking"),
        (1, "text"),
        (2, "tool_use"),
        (3, "tool_use"),
    ]
    stops = [data["index"] for name, data in events_of(sse) if name == "content_block_stop"]
    assert stops == [0, 1, 2, 3]
    deltas = {
        data["delta"]["type"] for name, data in events_of(sse) if name == "content_block_delta"
    }
    assert deltas == {"thinking_delta", "text_delta", "input_json_delta"}
    with stream_with(sse).messages.stream(
        model="claude-sonnet-4-5", max_tokens=256, messages=[{"role": "user", "content": "Hello"}]
    ) as stream:
        final = stream.get_final_message()
    thinking, text, first, second = final.content
    assert thinking.type == "thinking" and thinking.thinking == "Plan."
    assert text.type == "text" and text.text == "Calling."
    assert first.type == "tool_use" and (first.id, first.name, first.input) == (
        "call_a",
        "get_weather",
        {"city": "Paris"},
    )
    assert second.type == "tool_use" and (second.name, second.input) == ("get_time", {})
    assert final.stop_reason == "tool_use"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (30, 12)


def test_stream_without_a_usage_chunk_reports_the_adapters_usage_and_finish() -> None:
    sse = encode_stream(
        [chunk({"content": "x"})], StreamStats(usage=Usage(7, 1, 8), finish_reason="length")
    )
    delta = next(data for name, data in events_of(sse) if name == "message_delta")
    assert delta["delta"] == {"stop_reason": "max_tokens", "stop_sequence": None}
    assert (delta["usage"]["input_tokens"], delta["usage"]["output_tokens"]) == (7, 1)


def test_stream_stop_sequence_is_reported_when_the_upstream_names_it() -> None:
    sse = encode_stream(
        [chunk({"content": "x"}), chunk({}, "stop", stop_reason="END")], stop_sequences=["END"]
    )
    delta = next(data for name, data in events_of(sse) if name == "message_delta")
    assert delta["delta"] == {"stop_reason": "stop_sequence", "stop_sequence": "END"}


def test_message_start_goes_out_with_the_first_chunk_and_estimates_input_tokens() -> None:
    encoder = FRONT.stream_encoder(canonical(stream=True), "r")
    assert encoder.start() == b""
    (_, start), _ping = events_of(encoder.chunk(chunk({"role": "assistant", "content": ""})))
    message = start["message"]
    assert message["content"] == [] and message["stop_reason"] is None
    assert message["usage"]["input_tokens"] > 0
    assert message["model"] == "claude-sonnet-4-5"


def test_native_frames_pass_through_untouched() -> None:
    encoder = FRONT.stream_encoder(canonical(stream=True), "r")
    frames = [
        b'event: message_start\ndata: {"type":"message_start","message":{}}\n\n',
        b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
        b'"delta":{"type":"signature_delta","signature":"s"}}\n\n',
        b'event: message_stop\ndata: {"type":"message_stop"}\n\n',
    ]
    out = b"".join(encoder.chunk(f) for f in frames) + encoder.finish(StreamStats())
    assert out == b"".join(frames)


def test_error_after_commit_is_an_error_event_the_sdk_raises() -> None:
    encoder = FRONT.stream_encoder(canonical(stream=True), "r")
    sse = (
        encoder.start()
        + encoder.chunk(chunk({"content": "partial"}))
        + encoder.error(errors.upstream_failed(502, "Provider p broke off the stream."))
    )
    name, data = events_of(sse)[-1]
    assert name == "error"
    assert data == {
        "type": "error",
        "error": {"type": "api_error", "message": "Provider p broke off the stream."},
    }
    client = stream_with(sse)
    stream = client.messages.stream(
        model="m", max_tokens=5, messages=[{"role": "user", "content": "x"}]
    )
    with pytest.raises(anthropic.APIStatusError) as caught, stream as events:
        list(events)
    assert "broke off" in str(caught.value)


# --- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "status", "kind", "sdk_error"),
    [
        (
            errors.invalid_request("Bad.", "max_tokens"),
            400,
            "invalid_request_error",
            anthropic.BadRequestError,
        ),
        (errors.invalid_api_key(), 401, "authentication_error", anthropic.AuthenticationError),
        (
            errors.GatewayError(403, "No.", "permission_error"),
            403,
            "permission_error",
            anthropic.PermissionDeniedError,
        ),
        (errors.model_not_found("claude-x"), 404, "not_found_error", anthropic.NotFoundError),
        (errors.body_too_large(10), 413, "request_too_large", anthropic.ContentTooLargeError),
        (errors.body_too_slow(5), 400, "invalid_request_error", anthropic.BadRequestError),
        (
            errors.rate_limited("tenant", "rpm", 3),
            429,
            "rate_limit_error",
            anthropic.RateLimitError,
        ),
        (errors.internal_error(), 500, "api_error", anthropic.InternalServerError),
        (
            errors.upstream_failed(502, "Bad gateway."),
            502,
            "api_error",
            anthropic.InternalServerError,
        ),
        (
            errors.upstream_failed(504, "Timed out."),
            504,
            "timeout_error",
            anthropic.InternalServerError,
        ),
        (errors.all_providers_unavailable(2), 529, "overloaded_error", anthropic.OverloadedError),
    ],
)
def test_errors_in_anthropic_shape(
    error: errors.GatewayError, status: int, kind: str, sdk_error: type[Exception]
) -> None:
    code, body = FRONT.error_body(error)
    assert code == status
    assert json.loads(body) == {
        "type": "error",
        "error": {"type": kind, "message": json.loads(body)["error"]["message"]},
    }
    with pytest.raises(sdk_error) as caught:
        create(answer_with(body, status))
    assert getattr(caught.value, "status_code", status) == status


def test_error_message_names_the_param() -> None:
    _, body = FRONT.error_body(errors.invalid_request("Must be positive.", "max_tokens"))
    assert json.loads(body)["error"]["message"] == "max_tokens: Must be positive."
