"""The Responses stream encoder event by event: exact payloads and sequence numbers for refusals,
parts switching inside one message, tool calls whose name or id arrives late, other choices,
native events relayed with their own numbering, and errors with each kind of open item.

Every event is validated with the official `openai` SDK's event types."""

from __future__ import annotations

import json
from typing import Any

from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from routerx.gateway.errors import upstream_failed
from routerx.gateway.fronts.responses import ResponsesFront
from routerx.gateway.fronts.responses.stream import ResponsesStreamEncoder, sse
from routerx.providers.base import StreamStats
from routerx.wire.openai import Usage

FRONT = ResponsesFront()
EVENTS: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
BODY = {"model": "gpt-4.1-mini", "input": "hi", "stream": True}


def chunk(
    delta: dict[str, Any] | None = None,
    finish: str | None = None,
    *,
    index: int = 0,
    model: str = "up-model",
    usage: Any = None,
) -> bytes:
    choices = [] if delta is None else [{"index": index, "delta": delta, "finish_reason": finish}]
    return json.dumps(
        {
            "id": "chatcmpl-s",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": model,
            "choices": choices,
            "usage": usage,
        }
    ).encode()


def encoder(request_id: str = "r1") -> ResponsesStreamEncoder:
    made = FRONT.stream_encoder(FRONT.decode(BODY), request_id)
    assert isinstance(made, ResponsesStreamEncoder)
    return made


def events_of(frames: bytes) -> list[dict[str, Any]]:
    events = []
    for frame in frames.decode().split("\n\n"):
        if not frame:
            continue
        event_line, data_line = frame.split("\n")
        payload = json.loads(data_line.removeprefix("data: "))
        assert event_line == "event: " + payload["type"]
        EVENTS.validate_python(payload)
        events.append(payload)
    return events


def run(chunks: list[bytes], stats: StreamStats | None = None) -> list[dict[str, Any]]:
    stream = encoder()
    frames = stream.start() + b"".join(stream.chunk(c) for c in chunks)
    events = events_of(frames + stream.finish(stats or StreamStats()))
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    return events


def brief(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """(type, output_index, content_index, the text/delta/arguments) of each item event."""
    out: list[tuple[Any, ...]] = []
    for e in events:
        value = e.get("delta", e.get("text", e.get("refusal", e.get("arguments"))))
        out.append((e["type"], e.get("output_index"), e.get("content_index"), value))
    return out


def test_text_then_refusal_in_one_message_are_two_parts() -> None:
    events = run(
        [
            chunk({"content": "I "}),
            chunk({"refusal": "can't"}),
            chunk({"refusal": "."}),
            chunk({}, "stop"),
        ]
    )
    assert brief(events)[2:] == [
        ("response.output_item.added", 0, None, None),
        ("response.content_part.added", 0, 0, None),
        ("response.output_text.delta", 0, 0, "I "),
        ("response.output_text.done", 0, 0, "I "),
        ("response.content_part.done", 0, 0, None),
        ("response.content_part.added", 0, 1, None),
        ("response.refusal.delta", 0, 1, "can't"),
        ("response.refusal.delta", 0, 1, "."),
        ("response.refusal.done", 0, 1, "can't."),
        ("response.content_part.done", 0, 1, None),
        ("response.output_item.done", 0, None, None),
        ("response.completed", None, None, None),
    ]
    assert events[7]["part"]["type"] == "refusal" and events[7]["part"]["refusal"] == ""
    assert events[11]["part"] == {"type": "refusal", "refusal": "can't."}
    item = events[12]["item"]
    assert item["id"] == events[2]["item"]["id"] == "msg_r1_0"
    assert [part["type"] for part in item["content"]] == ["output_text", "refusal"]
    final = Response.model_validate(events[-1]["response"])
    assert final.status == "completed" and len(final.output) == 1


def test_reasoning_after_text_opens_a_second_item() -> None:
    events = run([chunk({"content": "A"}), chunk({"reasoning_content": "B"}), chunk({}, "stop")])
    added = [e for e in events if e["type"] == "response.output_item.added"]
    assert [(e["output_index"], e["item"]["type"]) for e in added] == [
        (0, "message"),
        (1, "reasoning"),
    ]
    done = [e for e in events if e["type"] == "response.output_item.done"]
    assert done[1]["item"]["content"] == [{"type": "reasoning_text", "text": "B"}]
    assert done[1]["item"]["summary"] == []
    final = events[-1]["response"]
    assert [o["type"] for o in final["output"]] == ["message", "reasoning"]


def test_other_choices_are_ignored_and_the_first_model_named_is_kept() -> None:
    events = run(
        [
            chunk({"content": "zero"}, model="up-model-2025"),
            chunk({"content": "one"}, index=1, model="other"),
            chunk({}, "length", index=1, model="other"),
            chunk({}, "stop", model="other"),
        ]
    )
    deltas = [e["delta"] for e in events if e["type"] == "response.output_text.delta"]
    assert deltas == ["zero"]
    assert events[-1]["type"] == "response.completed"  # choice 1's "length" did not count
    assert events[-1]["response"]["model"] == "up-model-2025"


def test_a_content_filter_stop_is_incomplete() -> None:
    events = run([chunk({"content": "x"}), chunk({}, "content_filter")])
    assert events[-2]["item"]["status"] == "incomplete"
    assert events[-1]["type"] == "response.incomplete"
    assert events[-1]["response"]["incomplete_details"] == {"reason": "content_filter"}


def test_a_stream_with_no_output_completes_empty_with_the_stats_usage() -> None:
    events = run([chunk({"role": "assistant"})], StreamStats(usage=Usage(3, 0, 3)))
    assert [e["type"] for e in events] == [
        "response.created",
        "response.in_progress",
        "response.completed",
    ]
    final = events[-1]["response"]
    assert final["output"] == [] and final["status"] == "completed"
    assert (final["usage"]["input_tokens"], final["usage"]["total_tokens"]) == (3, 3)


def test_a_usage_chunk_wins_over_the_stats() -> None:
    usage = {"prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10}
    events = run(
        [chunk({"content": "x"}), chunk(None, usage=usage)], StreamStats(usage=Usage(1, 1, 2))
    )
    assert events[-1]["response"]["usage"]["total_tokens"] == 10


def test_a_tool_call_whose_name_and_id_come_late() -> None:
    events = run(
        [
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"a":'}}]}),
            chunk(
                {"tool_calls": [{"index": 0, "function": {"name": "lookup", "arguments": "1}"}}]}
            ),
            chunk({"tool_calls": [{"index": 0, "function": {"name": "ignored"}}]}),
            chunk({"tool_calls": [{"index": 0}]}),
            chunk({}, "tool_calls"),
        ]
    )
    assert brief(events)[2:] == [
        ("response.output_item.added", 0, None, None),
        ("response.function_call_arguments.delta", 0, None, '{"a":'),
        ("response.function_call_arguments.delta", 0, None, "1}"),
        ("response.function_call_arguments.done", 0, None, '{"a":1}'),
        ("response.output_item.done", 0, None, None),
        ("response.completed", None, None, None),
    ]
    assert events[2]["item"]["name"] == "" and events[2]["item"]["call_id"] == "call_r1_0"
    assert events[5]["name"] == "lookup"
    done = events[6]["item"]
    assert (done["name"], done["arguments"], done["status"]) == ("lookup", '{"a":1}', "completed")
    assert done["call_id"] == events[2]["item"]["call_id"]


def test_text_then_a_tool_call_then_text_are_three_items() -> None:
    events = run(
        [
            chunk({"content": "Let me check."}),
            chunk(
                {
                    "tool_calls": [
                        {"index": 0, "id": "call_x", "function": {"name": "f", "arguments": "{}"}}
                    ]
                }
            ),
            chunk({"content": "Done."}),
            chunk({}, "stop"),
        ]
    )
    done = [e["item"] for e in events if e["type"] == "response.output_item.done"]
    assert [(item["type"], item["status"]) for item in done] == [
        ("message", "completed"),
        ("function_call", "completed"),
        ("message", "completed"),
    ]
    assert [e["output_index"] for e in events if e["type"] == "response.output_item.added"] == [
        0,
        1,
        2,
    ]
    assert done[1]["call_id"] == "call_x"
    assert len({item["id"] for item in done}) == 3


def test_native_events_are_relayed_and_keep_their_numbering() -> None:
    stream = encoder()
    created = {
        "type": "response.created",
        "sequence_number": 0,
        "response": {"id": "resp_upstream", "object": "response"},
    }
    delta = {"type": "response.output_text.delta", "sequence_number": 5, "delta": "hi"}
    untyped = {"sequence_number": 6}
    frames = [json.dumps(e).encode() for e in (created, delta, untyped)]
    out = [stream.chunk(f) for f in frames]
    assert out[0] == b"event: response.created\ndata: " + frames[0] + b"\n\n"
    assert out[1] == b"event: response.output_text.delta\ndata: " + frames[1] + b"\n\n"
    assert out[2] == b"event: message\ndata: " + frames[2] + b"\n\n"
    assert stream.finish(StreamStats()) == b""
    # An error after native events goes on from the upstream's numbering, with its response id.
    failed = events_of(stream.error(upstream_failed(502, "broke")))
    assert [(e["type"], e["sequence_number"]) for e in failed] == [
        ("error", 7),
        ("response.failed", 8),
    ]
    assert failed[1]["response"]["id"] == "resp_upstream"


def test_a_native_event_without_a_response_id_keeps_ours() -> None:
    stream = encoder("r7")
    stream.chunk(json.dumps({"type": "response.in_progress", "response": {}}).encode())
    failed = events_of(stream.error(upstream_failed(502, "broke")))
    assert failed[1]["response"]["id"] == "resp_r7"
    assert [e["sequence_number"] for e in failed] == [0, 1]


def test_an_error_before_any_output_fails_with_an_empty_output() -> None:
    stream = encoder()
    frames = stream.chunk(chunk({"role": "assistant"}))
    failed = events_of(frames + stream.error(upstream_failed(429, "slow down")))
    assert [e["type"] for e in failed] == [
        "response.created",
        "response.in_progress",
        "error",
        "response.failed",
    ]
    response = failed[-1]["response"]
    assert response["output"] == []
    assert response["error"] == {"code": "rate_limit_exceeded", "message": "slow down"}
    assert (failed[-2]["message"], failed[-2]["code"]) == ("slow down", "upstream_error")


def test_an_error_mid_tool_call_keeps_its_arguments_so_far() -> None:
    stream = encoder()
    frames = stream.chunk(
        chunk(
            {
                "tool_calls": [
                    {"index": 0, "id": "call_1", "function": {"name": "f", "arguments": '{"q"'}}
                ]
            }
        )
    )
    events = events_of(frames + stream.error(upstream_failed(502, "broke")))
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    failed = events[-1]["response"]
    assert failed["status"] == "failed"
    assert failed["error"] == {"code": "server_error", "message": "broke"}
    assert failed["output"] == [
        {
            "type": "function_call",
            "id": events[2]["item"]["id"],
            "call_id": "call_1",
            "name": "f",
            "arguments": '{"q"',
            "status": "incomplete",
        }
    ]
    assert stream.open is None


def test_an_error_mid_reasoning_keeps_the_text_so_far() -> None:
    stream = encoder()
    frames = stream.chunk(chunk({"reasoning_content": "Thin"})) + stream.chunk(
        chunk({"reasoning_content": "king"})
    )
    events = events_of(frames + stream.error(upstream_failed(504, "timed out")))
    (item,) = events[-1]["response"]["output"]
    assert item["type"] == "reasoning" and item["status"] == "incomplete"
    assert item["content"] == [{"type": "reasoning_text", "text": "Thinking"}]
    error = events[-2]
    assert (error["type"], error["message"], error["param"]) == ("error", "timed out", None)


def test_sse_frames_one_event() -> None:
    assert sse("response.created", {"a": 1}) == b'event: response.created\ndata: {"a":1}\n\n'


def test_a_chat_chunk_without_an_object_field_is_translated() -> None:
    """Some OpenAI-compatible upstreams leave out `object`: without a `type` it is a chat chunk."""
    stream = encoder()
    bare = json.dumps(
        {"id": "c", "model": "up", "choices": [{"index": 0, "delta": {"content": "hi"}}]}
    ).encode()
    events = events_of(stream.chunk(bare) + stream.finish(StreamStats()))
    assert [e["type"] for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert events[4]["delta"] == "hi"
