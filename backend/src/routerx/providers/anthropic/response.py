"""Anthropic Messages answers -> OpenAI: the non-stream message and the SSE event stream."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import msgspec

from routerx.providers.http import stream_error
from routerx.providers.openai_output import ChunkWriter, completion_body, make_usage, tool_call
from routerx.wire.openai import Choice, Delta, PromptTokensDetails, ResponseMessage, Usage

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "pause_turn": "stop",
    "refusal": "content_filter",
}


class CacheCreation(msgspec.Struct):
    ephemeral_5m_input_tokens: int = 0
    ephemeral_1h_input_tokens: int = 0


class AnthropicUsage(msgspec.Struct):
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    cache_creation: CacheCreation | None = None  # the split by cache lifetime (priced apart)

    @property
    def prompt_tokens(self) -> int:
        # OpenAI's prompt_tokens includes cached tokens; Anthropic reports them apart.
        return (
            (self.input_tokens or 0)
            + (self.cache_creation_input_tokens or 0)
            + (self.cache_read_input_tokens or 0)
        )

    def prompt_details(self) -> PromptTokensDetails | None:
        """Cache reads as OpenAI's `cached_tokens`; cache writes as `cache_creation_tokens`."""
        if self.cache_read_input_tokens is None and self.cache_creation_input_tokens is None:
            return None
        details = PromptTokensDetails(
            self.cache_read_input_tokens or 0, self.cache_creation_input_tokens or 0
        )
        if self.cache_creation is not None and self.cache_creation.ephemeral_1h_input_tokens:
            details.cache_creation_1h_tokens = self.cache_creation.ephemeral_1h_input_tokens
        return details


class ContentBlock(msgspec.Struct):
    type: str
    text: str | None = None
    id: str | None = None
    name: str | None = None
    input: Any = None


class AnthropicMessage(msgspec.Struct):
    content: list[ContentBlock] = msgspec.field(default_factory=list)
    model: str | None = None
    stop_reason: str | None = None
    usage: AnthropicUsage = msgspec.field(default_factory=AnthropicUsage)


class EventDelta(msgspec.Struct):
    type: str | None = None
    text: str | None = None
    partial_json: str | None = None
    stop_reason: str | None = None


class StreamEvent(msgspec.Struct):
    type: str
    message: AnthropicMessage | None = None
    index: int = 0
    content_block: ContentBlock | None = None
    delta: EventDelta | None = None
    usage: AnthropicUsage | None = None


decode_message = msgspec.json.Decoder(AnthropicMessage).decode
decode_event = msgspec.json.Decoder(StreamEvent).decode
_encode = msgspec.json.Encoder().encode


def finish_reason(stop_reason: str | None) -> str | None:
    return FINISH_REASONS.get(stop_reason, "stop") if stop_reason else None


def completion_from_message(
    message: AnthropicMessage, request_id: str, model: str
) -> tuple[bytes, Usage, str | None]:
    text = "".join(block.text or "" for block in message.content if block.type == "text")
    calls = [
        tool_call(block.id or "", block.name or "", _encode(block.input).decode())
        for block in message.content
        if block.type == "tool_use"
    ]
    usage = make_usage(message.usage.prompt_tokens, message.usage.output_tokens or 0)
    details = message.usage.prompt_details()
    if details is not None:
        usage.prompt_tokens_details = details
    finish = finish_reason(message.stop_reason)
    answer = ResponseMessage(content=text or None, tool_calls=calls or None)
    body = completion_body(request_id, message.model or model, [Choice(0, answer, finish)], usage)
    return body, usage, finish


class StreamTranslator:
    """Anthropic stream events in, OpenAI chunks out. `done` turns true at `message_stop`."""

    def __init__(self, provider: str, request_id: str, model: str) -> None:
        self.provider = provider
        self.writer = ChunkWriter(request_id, model)
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.prompt_details: PromptTokensDetails | None = None
        self.finish_reason: str | None = None
        self.done = False
        self._tool_positions: dict[int, int] = {}

    @property
    def usage(self) -> Usage:
        usage = make_usage(self.prompt_tokens, self.completion_tokens)
        if self.prompt_details is not None:
            usage.prompt_tokens_details = self.prompt_details
        return usage

    def on_event(self, event: StreamEvent) -> list[bytes]:
        handler = self._HANDLERS.get(event.type)
        return handler(self, event) if handler is not None else []

    def _error(self, event: StreamEvent) -> list[bytes]:
        raise stream_error(self.provider)

    def _message_start(self, event: StreamEvent) -> list[bytes]:
        if event.message is not None:
            self.writer.model = event.message.model or self.writer.model
            self._count(event.message.usage)
        return [self.writer.delta(Delta(role="assistant", content=""))]

    def _block_start(self, event: StreamEvent) -> list[bytes]:
        block = event.content_block
        if block is None:
            return []
        if block.type == "tool_use":
            position = self._tool_positions[event.index] = len(self._tool_positions)
            return [self.writer.tool_call(position, "", call_id=block.id, name=block.name)]
        if block.type == "text" and block.text:
            return [self.writer.text(block.text)]
        return []

    def _block_delta(self, event: StreamEvent) -> list[bytes]:
        delta = event.delta
        if delta is None:
            return []
        if delta.type == "text_delta" and delta.text:
            return [self.writer.text(delta.text)]
        if delta.type == "input_json_delta" and delta.partial_json:
            position = self._tool_positions.get(event.index)
            if position is not None:
                return [self.writer.tool_call(position, delta.partial_json)]
        return []  # thinking and signature deltas have no OpenAI counterpart

    def _message_delta(self, event: StreamEvent) -> list[bytes]:
        if event.usage is not None:
            self._count(event.usage)
        stop = event.delta.stop_reason if event.delta is not None else None
        if stop is None:
            return []
        self.finish_reason = finish_reason(stop)
        return [self.writer.finish(self.finish_reason or "stop")]

    def _message_stop(self, event: StreamEvent) -> list[bytes]:
        self.done = True
        return [self.writer.usage(self.usage)]

    def _count(self, usage: AnthropicUsage) -> None:
        if usage.input_tokens is not None:
            self.prompt_tokens = usage.prompt_tokens
            self.prompt_details = usage.prompt_details() or self.prompt_details
        if usage.output_tokens is not None:
            self.completion_tokens = usage.output_tokens  # cumulative in message_delta

    _HANDLERS: ClassVar[dict[str, Callable[[StreamTranslator, StreamEvent], list[bytes]]]] = {
        "message_start": _message_start,
        "content_block_start": _block_start,
        "content_block_delta": _block_delta,
        "message_delta": _message_delta,
        "message_stop": _message_stop,
        "error": _error,
    }
