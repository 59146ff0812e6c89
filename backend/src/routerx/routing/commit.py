"""Which stream chunk commits a stream to its target.

A stream is committed (no transparent failover any more) on the first chunk that carries
something the client would lose: text, a tool call, a refusal, reasoning, or a finish reason.
Chunks that carry nothing (OpenAI's role-only delta, the chunk Anthropic's `message_start`
becomes, a usage-only chunk) are held until then. Azure's prompt-filter chunk
(`choices: []` with `prompt_filter_results`) is dropped: no client asked for it.

A chunk is an OpenAI `chat.completion.chunk`, a native Anthropic frame (`event: ...`), or a
native Responses event (JSON with a `type`).
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import msgspec

# Native events that only open or announce something.
_HOLD_EVENTS = frozenset(
    {
        "message_start",
        "content_block_start",
        "ping",
        "response.created",
        "response.in_progress",
        "response.queued",
        "response.output_item.added",
        "response.content_part.added",
    }
)


class ChunkKind(Enum):
    CONTENT = "content"  # commits the stream
    EMPTY = "empty"  # held until the commitment, then relayed
    FILTER = "filter"  # dropped


class ChunkDelta(msgspec.Struct):
    """The fields of a chunk's `delta` that carry an answer (what commits a stream)."""

    content: str | None = None
    tool_calls: Any = None
    function_call: Any = None
    refusal: str | None = None
    reasoning_content: str | None = None
    reasoning: str | None = None
    audio: Any = None


class _Choice(msgspec.Struct):
    delta: ChunkDelta | None = None
    finish_reason: str | None = None


class _ChunkView(msgspec.Struct):
    choices: list[_Choice] | None = None
    type: str | None = None
    prompt_filter_results: Any = None
    usage: Any = None


_decode = msgspec.json.Decoder(_ChunkView).decode


def commit_kind(chunk: bytes) -> ChunkKind:
    if chunk.startswith(b"event:"):
        name = chunk[6 : chunk.find(b"\n")].strip().decode("utf-8", "replace")
        return ChunkKind.EMPTY if name in _HOLD_EVENTS else ChunkKind.CONTENT
    try:
        view = _decode(chunk)
    except msgspec.DecodeError:
        return ChunkKind.CONTENT  # not ours to judge: the adapter already accepted it
    if view.type is not None:
        return ChunkKind.EMPTY if view.type in _HOLD_EVENTS else ChunkKind.CONTENT
    if view.choices is None:
        return ChunkKind.CONTENT
    if not view.choices and view.prompt_filter_results is not None and view.usage is None:
        return ChunkKind.FILTER
    for choice in view.choices:
        if choice.finish_reason is not None:
            return ChunkKind.CONTENT
        delta = choice.delta
        if delta is not None and (
            delta.content
            or delta.tool_calls
            or delta.function_call
            or delta.refusal
            or delta.reasoning_content
            or delta.reasoning
            or delta.audio
        ):
            return ChunkKind.CONTENT
    return ChunkKind.EMPTY
