"""Anthropic Messages in, Anthropic Messages out: the client's own body, with only `model`
replaced, so `cache_control`, thinking blocks and their signatures reach Anthropic untouched;
answers and stream events come back as Anthropic sent them, read only for the log's usage and
finish reason."""

from __future__ import annotations

from typing import Any

import msgspec

from routerx.providers.anthropic.response import (
    AnthropicMessage,
    AnthropicUsage,
    StreamEvent,
    finish_reason,
)
from routerx.providers.base import Call
from routerx.providers.http import stream_error
from routerx.providers.openai_output import make_usage
from routerx.wire.openai import Usage

NATIVE_API = "messages"


def native_body(call: Call, *, stream: bool) -> bytes | None:
    """The client's Messages body for this upstream model, or None to translate instead."""
    if call.native is None or call.native[0] != NATIVE_API:
        return None
    body: dict[str, Any] = {**call.native[1], "model": call.upstream_model}
    if stream:
        body["stream"] = True
    else:
        body.pop("stream", None)
    return msgspec.json.encode(body)


def message_usage(message: AnthropicMessage) -> tuple[Usage, str | None]:
    usage = message.usage
    return make_usage(usage.prompt_tokens, usage.output_tokens or 0), finish_reason(
        message.stop_reason
    )


def frame(event_type: str, data: bytes) -> bytes:
    """One SSE frame as Anthropic writes it (multi-line data kept multi-line)."""
    if b"\n" in data:
        data = data.replace(b"\n", b"\ndata: ")
    return b"event: " + event_type.encode() + b"\ndata: " + data + b"\n\n"


class NativeStreamTracker:
    """Follows a relayed Anthropic stream for what the log needs; `done` at `message_stop`.
    An `error` event is raised, so the gateway ends the stream with its own error event."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.finish_reason: str | None = None
        self.done = False

    @property
    def usage(self) -> Usage:
        return make_usage(self.prompt_tokens, self.completion_tokens)

    def on_event(self, event: StreamEvent) -> None:
        kind = event.type
        if kind == "message_start" and event.message is not None:
            self._count(event.message.usage)
        elif kind == "message_delta":
            if event.usage is not None:
                self._count(event.usage)
            if event.delta is not None and event.delta.stop_reason is not None:
                self.finish_reason = finish_reason(event.delta.stop_reason)
        elif kind == "message_stop":
            self.done = True
        elif kind == "error":
            raise stream_error(self.provider)

    def _count(self, usage: AnthropicUsage) -> None:
        if usage.input_tokens is not None:
            self.prompt_tokens = usage.prompt_tokens
        if usage.output_tokens is not None:
            self.completion_tokens = usage.output_tokens  # cumulative in message_delta
