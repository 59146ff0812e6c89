"""chat.completion -> Response object, and chat chunks -> the Responses event stream.

Every body and event is validated with the official `openai` SDK's own types, so a field the SDK
requires, or a wrong event shape, fails here."""

from __future__ import annotations

import json
from typing import Any

import msgspec
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from routerx.gateway.errors import upstream_failed
from routerx.gateway.fronts.responses import ResponsesFront
from routerx.providers.base import Completion, StreamStats
from routerx.wire.openai import Usage

FRONT = ResponsesFront()
EVENTS: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
BODY = {
    "model": "gpt-4.1-mini",
    "input": "hi",
    "instructions": "Be brief.",
    "metadata": {"team": "a"},
    "tools": [{"type": "function", "name": "weather", "parameters": {"type": "object"}}],
}
USAGE = {
    "prompt_tokens": 11,
    "completion_tokens": 7,
    "total_tokens": 18,
    "prompt_tokens_details": {"cached_tokens": 4},
    "completion_tokens_details": {"reasoning_tokens": 3},
}


def completion(message: dict[str, Any], finish: str = "stop", usage: Any = USAGE) -> Completion:
    body = {
        "id": "chatcmpl-abc",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4.1-mini-2025",
        "choices": [
            {"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}
        ],
        "usage": usage,
    }
    return Completion(json.dumps(body).encode())


def answer(message: dict[str, Any], finish: str = "stop", usage: Any = USAGE) -> Response:
    canonical = FRONT.decode(BODY)
    body = FRONT.encode_completion(completion(message, finish, usage), canonical)
    return Response.model_validate_json(body, strict=False)


def test_text_answer_with_usage_details_and_echoed_request() -> None:
    response = answer({"content": "Hello there."})
    assert response.object == "response"
    assert response.id == "resp_abc"
    assert response.status == "completed"
    assert response.output_text == "Hello there."
    [message] = response.output
    assert (
        message.type == "message" and message.role == "assistant" and message.status == "completed"
    )
    assert message.id.startswith("msg_")
    usage = response.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (11, 7, 18)
    assert usage.input_tokens_details.cached_tokens == 4
    assert usage.output_tokens_details.reasoning_tokens == 3
    assert response.instructions == "Be brief."
    assert response.metadata == {"team": "a"}
    assert response.tools[0].type == "function" and response.tools[0].name == "weather"
    assert response.model == "gpt-4.1-mini-2025"


def test_tool_calls_become_function_call_items() -> None:
    response = answer(
        {
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
                },
                {
                    "id": "call_2",
                    "type": "function",
                    "function": {"name": "weather", "arguments": '{"city":"Rome"}'},
                },
            ],
        },
        "tool_calls",
    )
    assert response.status == "completed"
    calls = [(item.type, item.call_id, item.name, item.arguments) for item in response.output]  # type: ignore[union-attr]
    assert calls == [
        ("function_call", "call_1", "weather", '{"city":"Paris"}'),
        ("function_call", "call_2", "weather", '{"city":"Rome"}'),
    ]
    assert len({item.id for item in response.output}) == 2


def test_reasoning_text_becomes_a_reasoning_item_first() -> None:
    response = answer({"content": "42", "reasoning_content": "Think."})
    assert [item.type for item in response.output] == ["reasoning", "message"]
    reasoning = response.output[0]
    assert reasoning.type == "reasoning" and reasoning.content is not None
    assert reasoning.content[0].text == "Think."
    assert response.output_text == "42"


def test_length_cut_is_incomplete_with_reason_and_missing_usage_is_null() -> None:
    response = answer({"content": "Hel"}, "length", None)
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.usage is None


def chunk(
    delta: dict[str, Any] | None = None, finish: str | None = None, usage: Any = None
) -> bytes:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return json.dumps(
        {
            "id": "chatcmpl-s",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "up-model",
            "choices": choices,
            "usage": usage,
        }
    ).encode()


def events_of(frames: bytes) -> list[dict[str, Any]]:
    """Parse SSE frames strictly: `event:` matches the payload's `type`; every event validates."""
    events = []
    for frame in frames.decode().split("\n\n"):
        if not frame:
            continue
        event_line, data_line = frame.split("\n")
        assert event_line.startswith("event: ") and data_line.startswith("data: ")
        payload = json.loads(data_line.removeprefix("data: "))
        assert payload["type"] == event_line.removeprefix("event: ")
        EVENTS.validate_python(payload)
        events.append(payload)
    return events


def stream(
    chunks: list[bytes], stats: StreamStats | None = None, body: dict[str, Any] = BODY
) -> list[dict[str, Any]]:
    canonical = FRONT.decode({**body, "stream": True})
    encoder = FRONT.stream_encoder(canonical, "r1")
    frames = (
        encoder.start()
        + b"".join(encoder.chunk(c) for c in chunks)
        + encoder.finish(stats or StreamStats())
    )
    events = events_of(frames)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    return events


def test_text_stream_is_the_documented_event_sequence() -> None:
    events = stream(
        [
            chunk({"role": "assistant", "content": ""}),
            chunk({"content": "Hel"}),
            chunk({"content": "lo"}),
            chunk({}, "stop"),
            chunk(None, usage=USAGE),
        ]
    )
    assert [e["type"] for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert events[0]["response"]["status"] == "in_progress"
    assert events[0]["response"]["id"] == "resp_r1"
    item_id = events[2]["item"]["id"]
    assert all(e["item_id"] == item_id for e in events[3:8])
    assert events[6]["text"] == "Hello"
    assert events[7]["part"] == {
        "type": "output_text",
        "text": "Hello",
        "annotations": [],
        "logprobs": [],
    }
    assert events[8]["item"]["status"] == "completed"
    completed = Response.model_validate(events[-1]["response"])
    assert completed.status == "completed"
    assert completed.output_text == "Hello"
    assert completed.usage is not None and completed.usage.input_tokens_details.cached_tokens == 4
    assert completed.usage.output_tokens_details.reasoning_tokens == 3


def test_tool_call_stream_has_argument_deltas_per_item() -> None:
    events = stream(
        [
            chunk(
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "weather", "arguments": ""},
                        }
                    ],
                }
            ),
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]}),
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}),
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": 1,
                            "id": "call_2",
                            "type": "function",
                            "function": {"name": "time", "arguments": "{}"},
                        }
                    ]
                }
            ),
            chunk({}, "tool_calls"),
        ],
        StreamStats(usage=Usage(5, 6, 11)),
    )
    assert [e["type"] for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert events[2]["item"] | {} == {
        "type": "function_call",
        "id": events[2]["item"]["id"],
        "call_id": "call_1",
        "name": "weather",
        "arguments": "",
        "status": "in_progress",
    }
    assert events[5]["arguments"] == '{"city":"Paris"}' and events[5]["name"] == "weather"
    assert (events[7]["output_index"], events[7]["item"]["call_id"]) == (1, "call_2")
    final = Response.model_validate(events[-1]["response"])
    assert [(o.call_id, o.arguments) for o in final.output] == [
        ("call_1", '{"city":"Paris"}'),
        ("call_2", "{}"),
    ]  # type: ignore[union-attr]
    assert (
        final.usage is not None and final.usage.total_tokens == 11
    )  # from the stats when no usage chunk came


def test_reasoning_then_text_stream_closes_the_reasoning_item_first() -> None:
    events = stream(
        [chunk({"reasoning_content": "Hm."}), chunk({"content": "Yes."}), chunk({}, "stop")]
    )
    types = [e["type"] for e in events]
    assert types[2:] == [
        "response.output_item.added",
        "response.content_part.added",
        "response.reasoning_text.delta",
        "response.reasoning_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert events[2]["item"]["type"] == "reasoning" and events[8]["item"]["type"] == "message"
    assert events[8]["output_index"] == 1


def test_a_length_cut_stream_ends_with_response_incomplete() -> None:
    events = stream([chunk({"content": "Hel"}), chunk({}, "length")])
    assert events[-2]["item"]["status"] == "incomplete"
    assert events[-1]["type"] == "response.incomplete"
    assert events[-1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}


def test_an_error_after_commit_is_an_error_event_then_response_failed() -> None:
    canonical = FRONT.decode({**BODY, "stream": True})
    encoder = FRONT.stream_encoder(canonical, "r2")
    frames = encoder.start() + encoder.chunk(chunk({"content": "Hel"}))
    frames += encoder.error(upstream_failed(502, "Provider a broke off the stream."))
    events = events_of(frames)
    assert [e["type"] for e in events][-2:] == ["error", "response.failed"]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    error = events[-2]
    assert (
        error["message"] == "Provider a broke off the stream." and error["code"] == "upstream_error"
    )
    failed = Response.model_validate(events[-1]["response"])
    assert (
        failed.status == "failed"
        and failed.error is not None
        and failed.error.code == "server_error"
    )
    assert failed.output[0].status == "incomplete"  # the text so far, marked as cut
    assert "response.completed" not in [e["type"] for e in events]


def test_error_body_is_openai_shaped() -> None:
    status, body = FRONT.error_body(upstream_failed(429, "slow down"))
    assert status == 429
    assert msgspec.json.decode(body) == {
        "error": {
            "message": "slow down",
            "type": "rate_limit_error",
            "param": None,
            "code": "upstream_error",
        }
    }


def test_native_answers_and_events_pass_through_unchanged() -> None:
    canonical = FRONT.decode({**BODY, "stream": True, "store": True})
    native_body = b'{"id":"resp_up","object":"response","status":"completed","output":[]}'
    assert (
        FRONT.encode_completion(Completion(native_body, api="responses"), canonical) == native_body
    )
    encoder = FRONT.stream_encoder(canonical, "r3")
    created = json.dumps(
        {"type": "response.created", "sequence_number": 0, "response": {"id": "resp_up"}}
    ).encode()
    delta = json.dumps(
        {
            "type": "response.output_text.delta",
            "sequence_number": 1,
            "item_id": "m",
            "output_index": 0,
            "content_index": 0,
            "delta": "Hi",
        }
    ).encode()
    assert encoder.start() == b""
    assert encoder.chunk(created) == b"event: response.created\ndata: " + created + b"\n\n"
    assert encoder.chunk(delta) == b"event: response.output_text.delta\ndata: " + delta + b"\n\n"
    assert encoder.finish(StreamStats()) == b""  # the upstream's response.completed was relayed
    [error, failed] = [
        json.loads(f.split("\ndata: ")[1])
        for f in encoder.error(upstream_failed(502, "cut")).decode().split("\n\n")
        if f
    ]
    assert (error["type"], error["sequence_number"]) == ("error", 2)
    assert (failed["type"], failed["sequence_number"], failed["response"]["id"]) == (
        "response.failed",
        3,
        "resp_up",
    )
