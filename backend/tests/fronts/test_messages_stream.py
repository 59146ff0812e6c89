"""The Messages stream encoder event by event: exact payloads of each block, blocks opening only
when the kind of delta changes, tool calls continued or restarted, other choices and unreadable
chunks skipped, a stream with no chunk at all, and usage and stop reasons from chunk or stats."""

from __future__ import annotations

import json
from typing import Any

from routerx.gateway import errors
from routerx.gateway.fronts.messages import MessagesFront
from routerx.gateway.fronts.messages.stream import MessagesStreamEncoder, frame
from routerx.providers.base import StreamStats
from routerx.wire.openai import Usage

FRONT = MessagesFront()
RAW = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 256,
    "stream": True,
    "messages": [{"role": "user", "content": "Hello"}],
}


def encoder(**fields: Any) -> MessagesStreamEncoder:
    made = FRONT.stream_encoder(FRONT.decode({**RAW, **fields}), "req9")
    assert isinstance(made, MessagesStreamEncoder)
    return made


def chunk(
    delta: dict[str, Any] | None = None,
    finish: str | None = None,
    *,
    index: int = 0,
    usage: dict[str, int] | None = None,
    **extra: Any,
) -> bytes:
    choices = (
        []
        if delta is None
        else [{"index": index, "delta": delta, "finish_reason": finish, **extra}]
    )
    body: dict[str, Any] = {"id": "c", "object": "chat.completion.chunk", "choices": choices}
    if usage is not None:
        body["usage"] = usage
    return json.dumps(body).encode()


def events_of(sse: bytes) -> list[dict[str, Any]]:
    events = []
    for one in sse.decode().strip().split("\n\n"):
        name_line, data_line = one.split("\n")
        data = json.loads(data_line.removeprefix("data: "))
        assert name_line == "event: " + data["type"]
        events.append(data)
    return events


def run(
    chunks: list[bytes], stats: StreamStats | None = None, **fields: Any
) -> list[dict[str, Any]]:
    stream = encoder(**fields)
    sse = stream.start() + b"".join(stream.chunk(c) for c in chunks)
    return events_of(sse + stream.finish(stats or StreamStats()))


def blocks(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The content-block events as (type, index, what they carry)."""
    out: list[tuple[Any, ...]] = []
    for e in events:
        if e["type"] == "content_block_start":
            out.append(("start", e["index"], e["content_block"]))
        elif e["type"] == "content_block_delta":
            out.append(("delta", e["index"], e["delta"]))
        elif e["type"] == "content_block_stop":
            out.append(("stop", e["index"]))
    return out


def test_each_kind_of_delta_opens_one_block_and_repeats_stay_in_it() -> None:
    events = run(
        [
            chunk({"reasoning_content": "Let "}),
            chunk({"reasoning_content": "me think."}),
            chunk({"content": "The "}),
            chunk({"content": "answer."}),
            chunk({"reasoning_content": "Again."}),
            chunk({}, "stop"),
        ]
    )
    assert [e["type"] for e in events[:2]] == ["message_start", "ping"]
    assert blocks(events) == [
        ("start", 0, {"type": "thinking", "thinking": "", "signature": ""}),
        ("delta", 0, {"type": "thinking_delta", "thinking": "Let "}),
        ("delta", 0, {"type": "thinking_delta", "thinking": "me think."}),
        ("stop", 0),
        ("start", 1, {"type": "text", "text": ""}),
        ("delta", 1, {"type": "text_delta", "text": "The "}),
        ("delta", 1, {"type": "text_delta", "text": "answer."}),
        ("stop", 1),
        ("start", 2, {"type": "thinking", "thinking": "", "signature": ""}),
        ("delta", 2, {"type": "thinking_delta", "thinking": "Again."}),
        ("stop", 2),
    ]
    assert [e["type"] for e in events[-2:]] == ["message_delta", "message_stop"]
    assert events[-2]["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}


def test_a_tool_call_continues_by_index_and_restarts_with_a_new_id() -> None:
    def call(index: int, call_id: str | None = None, **function: str) -> bytes:
        tool: dict[str, Any] = {"index": index}
        if call_id is not None:
            tool["id"] = call_id
        if function:
            tool["function"] = function
        return chunk({"tool_calls": [tool]})

    events = run(
        [
            call(0, "call_a", name="first", arguments='{"x":'),
            call(0, arguments="1}"),
            call(0),  # nothing to add: no event
            call(0, "call_b", name="second"),  # same index, new id: a new block
            call(3, arguments="{}"),  # a new index without an id still opens a block
            chunk({}, "tool_calls"),
        ]
    )
    assert blocks(events) == [
        ("start", 0, {"type": "tool_use", "id": "call_a", "name": "first", "input": {}}),
        ("delta", 0, {"type": "input_json_delta", "partial_json": '{"x":'}),
        ("delta", 0, {"type": "input_json_delta", "partial_json": "1}"}),
        ("stop", 0),
        ("start", 1, {"type": "tool_use", "id": "call_b", "name": "second", "input": {}}),
        ("stop", 1),
        ("start", 2, {"type": "tool_use", "id": "", "name": "", "input": {}}),
        ("delta", 2, {"type": "input_json_delta", "partial_json": "{}"}),
        ("stop", 2),
    ]
    assert events[-2]["delta"]["stop_reason"] == "tool_use"


def test_text_after_a_tool_call_opens_a_text_block() -> None:
    events = run(
        [
            chunk({"tool_calls": [{"index": 0, "id": "c1", "function": {"name": "f"}}]}),
            chunk({"content": "ok"}),
        ]
    )
    assert [(b[0], b[1]) for b in blocks(events)] == [
        ("start", 0),
        ("stop", 0),
        ("start", 1),
        ("delta", 1),
        ("stop", 1),
    ]


def test_other_choices_and_unreadable_chunks_are_skipped() -> None:
    events = run(
        [
            chunk({"content": "zero"}),
            chunk({"content": "one"}, "length", index=1),
            b"not json",
            chunk({}, "stop"),
        ]
    )
    assert [b for b in blocks(events) if b[0] == "delta"] == [
        ("delta", 0, {"type": "text_delta", "text": "zero"})
    ]
    assert events[-2]["delta"]["stop_reason"] == "end_turn"


def test_an_unreadable_first_chunk_still_starts_the_message() -> None:
    stream = encoder()
    first = events_of(stream.chunk(b"{"))
    assert [e["type"] for e in first] == ["message_start", "ping"]
    assert first[0]["message"]["id"] == "msg_req9"
    assert stream.chunk(b"{") == b""


def test_a_stream_without_any_chunk_is_a_whole_empty_message() -> None:
    events = run([], StreamStats(usage=Usage(5, 0, 5), finish_reason="stop"))
    assert [e["type"] for e in events] == [
        "message_start",
        "ping",
        "message_delta",
        "message_stop",
    ]
    assert events[0]["message"]["content"] == []
    assert events[2]["usage"]["input_tokens"] == 5 and events[2]["usage"]["output_tokens"] == 0


def test_without_usage_anywhere_the_delta_reports_zero_tokens() -> None:
    events = run([chunk({"content": "x"})])
    assert events[-2]["usage"]["output_tokens"] == 0
    assert events[-2]["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}


def test_the_chunks_finish_reason_and_usage_win_over_the_stats() -> None:
    usage = {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}
    events = run(
        [chunk({"content": "x"}), chunk({}, "length"), chunk(None, usage=usage)],
        StreamStats(usage=Usage(1, 1, 2), finish_reason="stop"),
    )
    delta = events[-2]
    assert delta["delta"]["stop_reason"] == "max_tokens"
    assert (delta["usage"]["input_tokens"], delta["usage"]["output_tokens"]) == (12, 3)


def test_a_matched_stop_sequence_is_taken_from_the_finishing_chunk() -> None:
    events = run(
        [chunk({"content": "x"}, "stop", stop_reason="###")], stop_sequences=["###", "END"]
    )
    assert events[-2]["delta"] == {"stop_reason": "stop_sequence", "stop_sequence": "###"}


def test_native_frames_end_without_our_closing_events() -> None:
    stream = encoder()
    native = b'event: ping\ndata: {"type":"ping"}\n\n'
    assert stream.chunk(native) == native
    assert stream.chunk(chunk({"content": "x"})) == chunk({"content": "x"})  # relayed untouched
    assert stream.finish(StreamStats()) == b""


def test_an_error_is_one_error_event() -> None:
    stream = encoder()
    stream.chunk(chunk({"content": "x"}))
    (event,) = events_of(stream.error(errors.upstream_failed(529, "Overloaded.")))
    assert event["type"] == "error" and event["error"]["message"] == "Overloaded."


def test_frame_is_one_named_sse_event() -> None:
    assert frame(b"ping", b"{}") == b"event: ping\ndata: {}\n\n"
