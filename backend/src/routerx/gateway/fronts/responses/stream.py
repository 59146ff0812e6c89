"""Chat Completions chunks -> the Responses streaming events (pure, no I/O).

The sequence is OpenAI's: response.created, response.in_progress, then per output item
response.output_item.added, its content events (content_part.added, output_text.delta ...
output_text.done, content_part.done; or function_call_arguments.delta ... .done), and
response.output_item.done; last response.completed (response.incomplete when the output
token cap or a content filter cut the answer). Each event carries `sequence_number`. Items are
streamed one after the other: a new item closes the one before it.

An upstream that speaks the Responses API itself (OpenAI, Azure) sends these events already: the
first chunk tells which kind arrives, and native events are relayed unchanged, framed as SSE.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from routerx.gateway.errors import GatewayError
from routerx.gateway.fronts.responses.response import (
    INCOMPLETE_REASONS,
    ResponseShell,
    item_id,
    response_usage,
)
from routerx.providers.base import StreamStats
from routerx.wire.responses import (
    ChatAnswerView,
    ChatToolCall,
    ChatUsage,
    ContentPartAdded,
    ContentPartDone,
    ErrorEvent,
    FunctionArgumentsDelta,
    FunctionArgumentsDone,
    OutputFunctionCall,
    OutputItem,
    OutputItemAdded,
    OutputItemDone,
    OutputMessage,
    OutputReasoning,
    OutputRefusal,
    OutputText,
    OutputTextDelta,
    OutputTextDone,
    ReasoningText,
    ReasoningTextDelta,
    ReasoningTextDone,
    RefusalDelta,
    RefusalDone,
    ResponseCompleted,
    ResponseCreated,
    ResponseError,
    ResponseFailed,
    ResponseIncomplete,
    ResponseInProgress,
    ResponsesRequest,
)

_decode_chunk = msgspec.json.Decoder(ChatAnswerView).decode


class _NativeResponseView(msgspec.Struct):
    id: str | None = None


class _NativeEventView(msgspec.Struct):
    """A native event's `type` and `sequence_number`; a chat chunk has `object` instead."""

    type: str | None = None
    sequence_number: int | None = None
    object: str | None = None
    response: _NativeResponseView | None = None


_decode_native = msgspec.json.Decoder(_NativeEventView).decode
_encode = msgspec.json.Encoder().encode
ItemKind = Literal["message", "reasoning", "function_call"]
PartKind = Literal["output_text", "refusal", "reasoning_text"]


def sse(event_type: str, payload: Any) -> bytes:
    return b"event: " + event_type.encode() + b"\ndata: " + _encode(payload) + b"\n\n"


class _OpenItem:
    """The output item being streamed, with what it has accumulated so far."""

    __slots__ = (
        "arguments",
        "call_id",
        "chat_index",
        "id",
        "kind",
        "name",
        "output_index",
        "part_kind",
        "part_text",
        "parts",
    )

    def __init__(self, kind: ItemKind, item_id_: str, output_index: int) -> None:
        self.kind: ItemKind = kind
        self.id = item_id_
        self.output_index = output_index
        self.parts: list[OutputText | OutputRefusal | ReasoningText] = []
        self.part_kind: PartKind | None = None
        self.part_text: list[str] = []
        self.call_id = ""
        self.name = ""
        self.arguments: list[str] = []
        self.chat_index = -1

    def item(self, status: Literal["in_progress", "completed", "incomplete"]) -> OutputItem:
        if self.kind == "function_call":
            arguments = "".join(self.arguments)
            return OutputFunctionCall(self.id, self.call_id, self.name, arguments, status)
        if self.kind == "reasoning":
            texts = [part for part in self.parts if isinstance(part, ReasoningText)]
            return OutputReasoning(self.id, [], texts, status)
        content = [part for part in self.parts if not isinstance(part, ReasoningText)]
        return OutputMessage(self.id, status, content)


class ResponsesStreamEncoder:
    """One stream's encoder; `chunk` costs one msgspec decode plus the events it emits."""

    def __init__(self, request: ResponsesRequest, request_id: str) -> None:
        self.shell = ResponseShell(request, request_id)
        self.request_id = request_id
        self.sequence = 0
        self.output: list[OutputItem] = []
        self.open: _OpenItem | None = None
        self.usage: ChatUsage | None = None
        self.finish_reason: str | None = None
        self.model: str | None = None
        self.native: bool | None = None  # known from the first chunk

    def _frame(self, event_type: str, payload: Any) -> bytes:
        self.sequence += 1
        return sse(event_type, payload)

    @property
    def _next(self) -> int:
        return self.sequence

    def start(self) -> bytes:
        """Nothing yet: a native upstream sends response.created itself (see `chunk`)."""
        return b""

    def _opening(self) -> bytes:
        response = self.shell.response("in_progress", [])
        created = self._frame("response.created", ResponseCreated(self._next, response))
        return created + self._frame(
            "response.in_progress", ResponseInProgress(self._next, response)
        )

    def chunk(self, chunk: bytes) -> bytes:
        if self.native is None:
            kind = _decode_native(chunk)
            self.native = kind.object is None and kind.type is not None
            if not self.native:
                return self._opening() + self._translate(chunk)
        if self.native:
            return self._relay_native(chunk)
        return self._translate(chunk)

    def _relay_native(self, chunk: bytes) -> bytes:
        event = _decode_native(chunk)
        if event.sequence_number is not None:
            self.sequence = event.sequence_number + 1
        if event.response is not None and event.response.id:
            self.shell.id = event.response.id
        return b"event: " + (event.type or "message").encode() + b"\ndata: " + chunk + b"\n\n"

    def _translate(self, chunk: bytes) -> bytes:
        answer = _decode_chunk(chunk)
        if answer.usage is not None:
            self.usage = answer.usage
        if answer.model and self.model is None:
            self.model = answer.model
        frames: list[bytes] = []
        for choice in answer.choices:
            if choice.index != 0:
                continue
            delta = choice.delta
            if delta is not None:
                reasoning = delta.reasoning_text
                if reasoning:
                    self._part_delta("reasoning", "reasoning_text", reasoning, frames)
                if delta.content:
                    self._part_delta("message", "output_text", delta.content, frames)
                if delta.refusal:
                    self._part_delta("message", "refusal", delta.refusal, frames)
                for call in delta.tool_calls or ():
                    self._tool_call(call, frames)
            if choice.finish_reason is not None:
                self.finish_reason = choice.finish_reason
        return b"".join(frames)

    def finish(self, stats: StreamStats) -> bytes:
        if self.native:
            return b""  # the upstream's response.completed was relayed
        frames: list[bytes] = []
        status: Literal["completed", "incomplete"] = (
            "incomplete" if self.finish_reason in INCOMPLETE_REASONS else "completed"
        )
        self._close_item(frames, status)
        usage = response_usage(self.usage)
        if usage is None and stats.usage is not None:
            usage = response_usage(
                ChatUsage(
                    stats.usage.prompt_tokens,
                    stats.usage.completion_tokens,
                    stats.usage.total_tokens,
                )
            )
        response = self.shell.response(
            "completed",
            list(self.output),
            usage,
            finish_reason=self.finish_reason,
            model=self.model,
        )
        if response.status == "incomplete":
            frames.append(
                self._frame("response.incomplete", ResponseIncomplete(self._next, response))
            )
        else:
            frames.append(
                self._frame("response.completed", ResponseCompleted(self._next, response))
            )
        return b"".join(frames)

    def error(self, error: GatewayError) -> bytes:
        """An `error` event, then `response.failed` with the output streamed so far."""
        event = ErrorEvent(self._next, error.message, error.code or error.type, error.param)
        frames = [self._frame("error", event)]
        output = list(self.output)
        item = self.open
        if item is not None:  # what it streamed so far, marked as cut, with no more events
            if item.part_kind is not None:
                item.parts.append(_part(item.part_kind, "".join(item.part_text)))
            output.append(item.item("incomplete"))
            self.open = None
        code = "rate_limit_exceeded" if error.status == 429 else "server_error"
        response = self.shell.response(
            "failed", output, response_usage(self.usage), error=ResponseError(code, error.message)
        )
        frames.append(self._frame("response.failed", ResponseFailed(self._next, response)))
        return b"".join(frames)

    # ---- items and parts -------------------------------------------------------------------

    def _open_item(self, kind: ItemKind, frames: list[bytes]) -> _OpenItem:
        self._close_item(frames, "completed")
        prefix = {"message": "msg", "reasoning": "rs", "function_call": "fc"}[kind]
        index = len(self.output)
        item = _OpenItem(kind, item_id(prefix, self.request_id, index), index)
        self.open = item
        return item

    def _announce(self, item: _OpenItem, frames: list[bytes]) -> None:
        added = OutputItemAdded(self._next, item.output_index, item.item("in_progress"))
        frames.append(self._frame("response.output_item.added", added))

    def _close_item(self, frames: list[bytes], status: Literal["completed", "incomplete"]) -> None:
        item = self.open
        if item is None:
            return
        self._close_part(frames, item)
        if item.kind == "function_call":
            done_arguments = FunctionArgumentsDone(
                self._next, item.id, item.output_index, item.name, "".join(item.arguments)
            )
            frames.append(self._frame("response.function_call_arguments.done", done_arguments))
        final = item.item(status)
        done = OutputItemDone(self._next, item.output_index, final)
        frames.append(self._frame("response.output_item.done", done))
        self.output.append(final)
        self.open = None

    def _part_delta(self, kind: ItemKind, part: PartKind, text: str, frames: list[bytes]) -> None:
        item = self.open
        if item is None or item.kind != kind:
            item = self._open_item(kind, frames)
            self._announce(item, frames)
        if item.part_kind != part:
            self._close_part(frames, item)
            item.part_kind = part
            frames.append(
                self._frame(
                    "response.content_part.added",
                    ContentPartAdded(
                        self._next, item.id, item.output_index, len(item.parts), _part(part, "")
                    ),
                )
            )
        item.part_text.append(text)
        position = len(item.parts)
        if part == "output_text":
            event: Any = OutputTextDelta(self._next, item.id, item.output_index, position, text)
            frames.append(self._frame("response.output_text.delta", event))
        elif part == "refusal":
            event = RefusalDelta(self._next, item.id, item.output_index, position, text)
            frames.append(self._frame("response.refusal.delta", event))
        else:
            event = ReasoningTextDelta(self._next, item.id, item.output_index, position, text)
            frames.append(self._frame("response.reasoning_text.delta", event))

    def _close_part(self, frames: list[bytes], item: _OpenItem) -> None:
        part = item.part_kind
        if part is None:
            return
        text = "".join(item.part_text)
        index = len(item.parts)
        if part == "output_text":
            done: Any = OutputTextDone(self._next, item.id, item.output_index, index, text)
            frames.append(self._frame("response.output_text.done", done))
        elif part == "refusal":
            done = RefusalDone(self._next, item.id, item.output_index, index, text)
            frames.append(self._frame("response.refusal.done", done))
        else:
            done = ReasoningTextDone(self._next, item.id, item.output_index, index, text)
            frames.append(self._frame("response.reasoning_text.done", done))
        finished = _part(part, text)
        part_done = ContentPartDone(self._next, item.id, item.output_index, index, finished)
        frames.append(self._frame("response.content_part.done", part_done))
        item.parts.append(finished)
        item.part_kind = None
        item.part_text = []

    def _tool_call(self, call: ChatToolCall, frames: list[bytes]) -> None:
        function = call.function
        item = self.open
        if item is None or item.kind != "function_call" or item.chat_index != call.index:
            item = self._open_item("function_call", frames)
            item.chat_index = call.index
            item.call_id = call.id or item_id("call", self.request_id, item.output_index)
            item.name = (function.name if function else None) or ""
            self._announce(item, frames)
        elif function is not None and function.name and not item.name:
            item.name = function.name
        arguments = function.arguments if function else None
        if arguments:
            item.arguments.append(arguments)
            delta = FunctionArgumentsDelta(self._next, item.id, item.output_index, arguments)
            frames.append(self._frame("response.function_call_arguments.delta", delta))


def _part(kind: PartKind, text: str) -> OutputText | OutputRefusal | ReasoningText:
    if kind == "output_text":
        return OutputText(text)
    if kind == "refusal":
        return OutputRefusal(text)
    return ReasoningText(text)
