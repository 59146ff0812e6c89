"""OpenAI `chat.completion.chunk`s -> Anthropic Messages stream events. Pure.

The event order is Anthropic's: `message_start`, `ping`, then per content block
`content_block_start`, its deltas and `content_block_stop`, then `message_delta` (stop reason
and usage) and `message_stop`. A new block opens whenever the kind of delta changes (thinking,
text, one per tool call); after the stream was committed a failure is an `error` event.

`message_start` goes out with the first chunk rather than before it: a back adapter that answers
Anthropic Messages natively yields Anthropic's own frames (they start with `event:`), which are
relayed untouched, `message_start` and `message_stop` included.
"""

from __future__ import annotations

import msgspec

from routerx.gateway.errors import GatewayError
from routerx.gateway.fronts.base import Canonical
from routerx.gateway.fronts.messages.errors import error_detail
from routerx.gateway.fronts.messages.openai_views import ChoiceView, FunctionView, UsageView
from routerx.gateway.fronts.messages.response import message_id
from routerx.gateway.fronts.messages.stop_reason import requested_stops, stop_reason
from routerx.providers.base import StreamStats
from routerx.wire import anthropic as wire
from routerx.wire.tokens import estimate_prompt_tokens

_encode = wire.json_encoder.encode
PING = b'event: ping\ndata: {"type":"ping"}\n\n'
MESSAGE_STOP = b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
NATIVE_FRAME = b"event:"


class ChunkView(msgspec.Struct):
    id: str = ""
    choices: list[ChoiceView] = msgspec.field(default_factory=list)
    usage: UsageView | None = None


decode_chunk = msgspec.json.Decoder(ChunkView).decode


def frame(name: bytes, payload: bytes) -> bytes:
    return b"event: " + name + b"\ndata: " + payload + b"\n\n"


class MessagesStreamEncoder:
    """One stream's state: the open content block and what message_delta will report."""

    def __init__(self, canonical: Canonical, request_id: str) -> None:
        self.canonical = canonical
        self.request_id = request_id
        self.index = -1  # of the open content block
        self.open_kind: str | None = None  # "thinking" | "text" | "tool"
        self.open_tool: int | None = None  # the OpenAI tool-call index of the open block
        self.finish_reason: str | None = None
        self.matched_stop: str | int | None = None
        self.usage: UsageView | None = None
        self.started = False
        self.native = False

    def start(self) -> bytes:
        return b""

    def _message_start(self) -> bytes:
        self.started = True
        usage = wire.Usage(input_tokens=estimate_prompt_tokens(self.canonical.chat))
        message = wire.Message(
            id=message_id(self.request_id),
            model=self.canonical.requested_model,
            content=[],
            stop_reason=None,
            stop_sequence=None,
            usage=usage,
        )
        return frame(b"message_start", _encode(wire.MessageStart(message))) + PING

    def chunk(self, chunk: bytes) -> bytes:
        if not self.started:
            if chunk.startswith(NATIVE_FRAME):
                self.started = self.native = True
            else:
                return self._message_start() + self._translate(chunk)
        return chunk if self.native else self._translate(chunk)

    def _translate(self, chunk: bytes) -> bytes:
        try:
            view = decode_chunk(chunk)
        except msgspec.DecodeError:
            return b""  # the back adapters only yield chunks they encoded or checked
        if view.usage is not None:
            self.usage = view.usage
        out: list[bytes] = []
        for choice in view.choices:
            if choice.index != 0:
                continue
            delta = choice.delta
            if delta is not None:
                thinking = delta.thinking
                if thinking:
                    self._open("thinking", out)
                    out.append(self._delta(wire.ThinkingDelta(thinking)))
                if delta.content:
                    self._open("text", out)
                    out.append(self._delta(wire.TextDelta(delta.content)))
                for call in delta.tool_calls or ():
                    self._tool_call(call.index, call.id, call.function, out)
            if choice.finish_reason is not None:
                self.finish_reason = choice.finish_reason
                self.matched_stop = choice.stop_reason
        return b"".join(out)

    def finish(self, stats: StreamStats) -> bytes:
        if self.native:
            return b""  # Anthropic's own message_delta and message_stop were relayed
        out: list[bytes] = [] if self.started else [self._message_start()]
        self._close(out)
        finish = self.finish_reason or stats.finish_reason
        reason, sequence = stop_reason(
            finish, self.matched_stop, requested_stops(self.canonical.chat.stop)
        )
        usage = self.usage
        if usage is None and stats.usage is not None:
            usage = UsageView(stats.usage.prompt_tokens, stats.usage.completion_tokens)
        delta = wire.MessageDelta(
            wire.MessageDeltaBody(reason, sequence),
            usage.anthropic() if usage is not None else wire.Usage(),
        )
        out.append(frame(b"message_delta", _encode(delta)))
        out.append(MESSAGE_STOP)
        return b"".join(out)

    def error(self, error: GatewayError) -> bytes:
        _, detail = error_detail(error)
        return frame(b"error", _encode(wire.ErrorBody(detail)))

    def _tool_call(
        self,
        position: int,
        call_id: str | None,
        function: FunctionView | None,
        out: list[bytes],
    ) -> None:
        name = function.name if function is not None else None
        arguments = function.arguments if function is not None else None
        if call_id is not None or self.open_kind != "tool" or self.open_tool != position:
            self._close(out)
            self.index += 1
            self.open_kind, self.open_tool = "tool", position
            block = wire.ToolUseBlock(call_id or "", name or "", {})
            out.append(self._block_start(block))
        if arguments:
            out.append(self._delta(wire.InputJSONDelta(arguments)))

    def _open(self, kind: str, out: list[bytes]) -> None:
        if self.open_kind == kind:
            return
        self._close(out)
        self.index += 1
        self.open_kind, self.open_tool = kind, None
        block: wire.OutputBlock = (
            wire.ThinkingBlock(thinking="") if kind == "thinking" else wire.TextBlock("")
        )
        out.append(self._block_start(block))

    def _close(self, out: list[bytes]) -> None:
        if self.open_kind is None:
            return
        out.append(frame(b"content_block_stop", _encode(wire.ContentBlockStop(self.index))))
        self.open_kind = self.open_tool = None

    def _block_start(self, block: wire.OutputBlock) -> bytes:
        return frame(b"content_block_start", _encode(wire.ContentBlockStart(self.index, block)))

    def _delta(self, delta: wire.BlockDelta) -> bytes:
        return frame(b"content_block_delta", _encode(wire.ContentBlockDelta(self.index, delta)))
