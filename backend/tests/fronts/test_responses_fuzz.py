"""Property-based tests of the Responses front.

Decoding: whatever JSON object arrives, `decode` returns a Canonical or raises a 4xx GatewayError
(anything else would be a 500). Streaming: for any sequence of chat chunks (text, refusal,
reasoning, tool calls by index, usage), the events validate as the SDK's types, sequence numbers
count up from 0, every item added is done once, and the final Response holds exactly the text and
arguments that were streamed.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from routerx.gateway.errors import GatewayError
from routerx.gateway.fronts.responses import ResponsesFront
from routerx.providers.base import StreamStats
from tests.gateway.test_decoder_fuzz import FUZZ

FRONT = ResponsesFront()
EVENTS: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)
text = st.text(max_size=8)
scalars = st.none() | st.booleans() | st.integers(-3, 3) | st.floats(-3, 3) | text
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
part_types = st.sampled_from(
    ["input_text", "input_image", "input_file", "output_text", "refusal", "x"]
)
parts = st.fixed_dictionaries(
    {"type": part_types},
    optional={"text": text | json_values, "image_url": text, "file_data": text, "file_id": text},
)
item_types = st.sampled_from(
    [
        "message",
        "function_call",
        "function_call_output",
        "reasoning",
        "item_reference",
        "web_search_call",
        "x",
    ]
)
items = st.fixed_dictionaries(
    {},
    optional={
        "type": item_types,
        "role": st.sampled_from(["user", "assistant", "system", "developer", "tool"]),
        "content": text | st.lists(parts, max_size=3) | json_values,
        "call_id": text,
        "name": text,
        "arguments": text,
        "output": text | st.lists(parts, max_size=2),
    },
)
tools = st.fixed_dictionaries(
    {"type": st.sampled_from(["function", "web_search", "x"])},
    optional={"name": text, "parameters": json_values, "strict": json_values},
)
bodies = st.fixed_dictionaries(
    {},
    optional={
        "model": text | json_values,
        "input": text | st.lists(items, max_size=4) | json_values,
        "instructions": text | json_values,
        "tools": st.lists(tools, max_size=2) | json_values,
        "tool_choice": st.sampled_from(["auto", "none", "x"]) | json_values,
        "text": st.fixed_dictionaries({}, optional={"format": json_values}),
        "max_output_tokens": json_values,
        "temperature": json_values,
        "reasoning": json_values,
        "metadata": json_values,
        "stream": json_values,
        "store": json_values,
    },
)


@FUZZ
@given(bodies)
def test_decode_answers_or_refuses_with_a_4xx(body: dict[str, Any]) -> None:
    try:
        canonical = FRONT.decode(body)
    except GatewayError as error:
        assert 400 <= error.status < 500
        json.loads(error.body())
    else:
        assert canonical.raw["messages"] and canonical.native == ("responses", body)


deltas = st.one_of(
    st.builds(lambda t: {"content": t}, st.text(min_size=1, max_size=5)),
    st.builds(lambda t: {"refusal": t}, st.text(min_size=1, max_size=5)),
    st.builds(lambda t: {"reasoning_content": t}, st.text(min_size=1, max_size=5)),
    st.builds(
        lambda index, arguments, first: {
            "tool_calls": [
                {"index": index, "function": {"arguments": arguments}}
                | (
                    {
                        "id": f"call_{index}",
                        "type": "function",
                        "function": {"name": "f", "arguments": arguments},
                    }
                    if first
                    else {}
                )
            ]
        },
        st.integers(0, 2),
        st.text(max_size=4),
        st.booleans(),
    ),
)


def chunk(delta: dict[str, Any] | None, finish: str | None = None, usage: Any = None) -> bytes:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return json.dumps(
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": choices,
            "usage": usage,
        }
    ).encode()


@FUZZ
@given(
    st.lists(deltas, max_size=12), st.sampled_from(["stop", "length", "tool_calls"]), st.booleans()
)
def test_any_chunk_sequence_is_a_well_formed_event_stream(
    sequence: list[dict[str, Any]], finish: str, usage_chunk: bool
) -> None:
    encoder = FRONT.stream_encoder(FRONT.decode({"model": "m", "input": "x", "stream": True}), "r")
    chunks = [chunk(d) for d in sequence] + [chunk({}, finish)]
    if usage_chunk:
        chunks.append(
            chunk(None, usage={"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3})
        )
    frames = (
        encoder.start() + b"".join(encoder.chunk(c) for c in chunks) + encoder.finish(StreamStats())
    )
    events = [json.loads(f.split("\ndata: ", 1)[1]) for f in frames.decode().split("\n\n") if f]
    for event in events:
        EVENTS.validate_python(event)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    added = [e["output_index"] for e in events if e["type"] == "response.output_item.added"]
    done = [e["output_index"] for e in events if e["type"] == "response.output_item.done"]
    assert added == done == list(range(len(added)))
    final = Response.model_validate(events[-1]["response"])
    assert events[-1]["type"] == (
        "response.incomplete" if finish == "length" else "response.completed"
    )
    streamed_text = "".join(d.get("content", "") for d in sequence)
    assert final.output_text == streamed_text
    streamed_arguments = "".join(
        call["function"]["arguments"] for d in sequence for call in d.get("tool_calls", [])
    )
    final_arguments = "".join(o.arguments for o in final.output if o.type == "function_call")
    assert final_arguments == streamed_arguments
    assert (final.usage is not None) == usage_chunk
