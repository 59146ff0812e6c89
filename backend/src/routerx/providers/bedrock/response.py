"""Bedrock Converse answers -> OpenAI: the non-stream body and the ConverseStream events.

Converse reports `inputTokens` without the prompt-cache reads and writes, which it counts apart
(`cacheReadInputTokens`, `cacheWriteInputTokens`); OpenAI's `prompt_tokens` includes them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import msgspec

from routerx.providers.openai_output import ChunkWriter, completion_body, make_usage, tool_call
from routerx.wire.openai import Choice, Delta, PromptTokensDetails, ResponseMessage, Usage

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}


class ConverseUsage(msgspec.Struct, rename="camel"):
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    cache_write_input_tokens: int | None = None

    def as_openai(self) -> Usage:
        read = self.cache_read_input_tokens
        written = self.cache_write_input_tokens
        usage = make_usage(self.input_tokens + (read or 0) + (written or 0), self.output_tokens)
        if read is not None or written is not None:
            usage.prompt_tokens_details = PromptTokensDetails(read or 0, written or 0)
        return usage


class ToolUse(msgspec.Struct, rename="camel"):
    tool_use_id: str = ""
    name: str = ""
    input: Any = None


class ContentBlock(msgspec.Struct, rename="camel"):
    text: str | None = None
    tool_use: ToolUse | None = None


class OutputMessage(msgspec.Struct):
    content: list[ContentBlock] = msgspec.field(default_factory=list)


class Output(msgspec.Struct):
    message: OutputMessage | None = None


class ConverseResponse(msgspec.Struct, rename="camel"):
    output: Output = msgspec.field(default_factory=Output)
    stop_reason: str | None = None
    usage: ConverseUsage | None = None


class ToolUseStart(msgspec.Struct, rename="camel"):
    tool_use_id: str = ""
    name: str = ""


class BlockStart(msgspec.Struct, rename="camel"):
    tool_use: ToolUseStart | None = None


class ToolUseDelta(msgspec.Struct):
    input: str = ""


class BlockDelta(msgspec.Struct, rename="camel"):
    text: str | None = None
    tool_use: ToolUseDelta | None = None


class StreamEvent(msgspec.Struct, rename="camel"):
    """The payload of any ConverseStream event; which fields are set depends on its type."""

    content_block_index: int = 0
    start: BlockStart | None = None
    delta: BlockDelta | None = None
    stop_reason: str | None = None
    usage: ConverseUsage | None = None


decode_response = msgspec.json.Decoder(ConverseResponse).decode
decode_event = msgspec.json.Decoder(StreamEvent).decode
_encode = msgspec.json.Encoder().encode


def finish_reason(stop_reason: str | None) -> str | None:
    return FINISH_REASONS.get(stop_reason, "stop") if stop_reason else None


def completion_from_response(
    answer: ConverseResponse, request_id: str, model: str
) -> tuple[bytes, Usage, str | None]:
    blocks = answer.output.message.content if answer.output.message is not None else []
    text = "".join(block.text or "" for block in blocks)
    calls = [
        tool_call(b.tool_use.tool_use_id, b.tool_use.name, _encode(b.tool_use.input).decode())
        for b in blocks
        if b.tool_use is not None
    ]
    usage = answer.usage.as_openai() if answer.usage is not None else make_usage(0, 0)
    finish = finish_reason(answer.stop_reason)
    message = ResponseMessage(content=text or None, tool_calls=calls or None)
    body = completion_body(request_id, model, [Choice(0, message, finish)], usage)
    return body, usage, finish


class StreamTranslator:
    """ConverseStream events in, OpenAI chunks out. `done` turns true at `metadata`, the last
    event, which carries the usage (after `messageStop`, which carries the stop reason)."""

    def __init__(self, request_id: str, model: str) -> None:
        self.writer = ChunkWriter(request_id, model)
        self.usage: Usage | None = None
        self.finish_reason: str | None = None
        self.done = False
        self._tool_positions: dict[int, int] = {}

    def on_event(self, event_type: str, event: StreamEvent) -> list[bytes]:
        handler = self._HANDLERS.get(event_type)
        return handler(self, event) if handler is not None else []

    def _message_start(self, event: StreamEvent) -> list[bytes]:
        return [self.writer.delta(Delta(role="assistant", content=""))]

    def _block_start(self, event: StreamEvent) -> list[bytes]:
        start = event.start.tool_use if event.start is not None else None
        if start is None:
            return []
        index = event.content_block_index
        position = self._tool_positions[index] = len(self._tool_positions)
        return [self.writer.tool_call(position, "", call_id=start.tool_use_id, name=start.name)]

    def _block_delta(self, event: StreamEvent) -> list[bytes]:
        delta = event.delta
        if delta is None:
            return []
        if delta.text:
            return [self.writer.text(delta.text)]
        if delta.tool_use is not None and delta.tool_use.input:
            position = self._tool_positions.get(event.content_block_index)
            if position is not None:
                return [self.writer.tool_call(position, delta.tool_use.input)]
        return []  # reasoning deltas have no Chat Completions counterpart

    def _message_stop(self, event: StreamEvent) -> list[bytes]:
        self.finish_reason = finish_reason(event.stop_reason) or "stop"
        return [self.writer.finish(self.finish_reason)]

    def _metadata(self, event: StreamEvent) -> list[bytes]:
        self.done = True
        self.usage = event.usage.as_openai() if event.usage is not None else make_usage(0, 0)
        return [self.writer.usage(self.usage)]

    _HANDLERS: ClassVar[dict[str, Callable[[StreamTranslator, StreamEvent], list[bytes]]]] = {
        "messageStart": _message_start,
        "contentBlockStart": _block_start,
        "contentBlockDelta": _block_delta,
        "messageStop": _message_stop,
        "metadata": _metadata,
    }
