"""OpenAI-shaped answers, for adapters that translate another provider's API."""

from __future__ import annotations

import secrets
import time

import msgspec

from routerx.wire.openai import (
    ChatCompletion,
    ChatCompletionChunk,
    Choice,
    ChunkChoice,
    ChunkToolCall,
    Delta,
    FunctionCall,
    ToolCall,
    Usage,
)

_encode = msgspec.json.Encoder().encode


class OpenAIToolCall(ToolCall, omit_defaults=False):
    """A tool call as OpenAI writes it, `"type": "function"` included (clients require it)."""


def tool_call(call_id: str, name: str, arguments: str) -> ToolCall:
    return OpenAIToolCall(call_id, FunctionCall(name, arguments))


def completion_id(request_id: str) -> str:
    return f"chatcmpl-{request_id}"


def new_tool_call_id() -> str:
    """For upstreams that do not name their tool calls (Gemini before function-call ids)."""
    return f"call_{secrets.token_hex(12)}"


def make_usage(prompt: int, completion: int, total: int | None = None) -> Usage:
    return Usage(prompt, completion, total if total else prompt + completion)


def completion_body(
    request_id: str, model: str, choices: list[Choice], usage: Usage | None
) -> bytes:
    return _encode(
        ChatCompletion(completion_id(request_id), int(time.time()), model, choices, usage)
    )


class ChunkWriter:
    """Encodes the `chat.completion.chunk` objects of one stream."""

    __slots__ = ("created", "id", "model")

    def __init__(self, request_id: str, model: str) -> None:
        self.id = completion_id(request_id)
        self.created = int(time.time())
        self.model = model

    def delta(self, delta: Delta, finish_reason: str | None = None, index: int = 0) -> bytes:
        choice = ChunkChoice(index, delta, finish_reason)
        return _encode(ChatCompletionChunk(self.id, self.created, self.model, [choice]))

    def text(self, text: str, index: int = 0) -> bytes:
        return self.delta(Delta(content=text), index=index)

    def tool_call(
        self,
        position: int,
        arguments: str,
        *,
        call_id: str | None = None,
        name: str | None = None,
        index: int = 0,
    ) -> bytes:
        function = (
            {"name": name, "arguments": arguments} if name is not None else {"arguments": arguments}
        )
        call = ChunkToolCall(
            position, call_id, "function" if call_id is not None else None, function
        )
        return self.delta(Delta(tool_calls=[call]), index=index)

    def finish(self, finish_reason: str, index: int = 0) -> bytes:
        return self.delta(Delta(), finish_reason, index)

    def usage(self, usage: Usage) -> bytes:
        """The closing chunk with `choices: []`, as OpenAI sends for `include_usage`."""
        return _encode(ChatCompletionChunk(self.id, self.created, self.model, [], usage))
