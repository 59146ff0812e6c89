"""Gemini `GenerateContentResponse` -> OpenAI, for whole answers and for SSE streams."""

from __future__ import annotations

from typing import Any

import msgspec

from routerx.providers.openai_output import (
    ChunkWriter,
    completion_body,
    make_usage,
    new_tool_call_id,
    tool_call,
)
from routerx.wire.openai import (
    Choice,
    CompletionTokensDetails,
    Delta,
    PromptTokensDetails,
    ResponseMessage,
    ToolCall,
    Usage,
)

FINISH_REASONS = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
}
_encode = msgspec.json.Encoder().encode


class GeminiFunctionCall(msgspec.Struct):
    name: str
    args: dict[str, Any] = msgspec.field(default_factory=dict)
    id: str | None = None


class GeminiPart(msgspec.Struct, rename="camel"):
    text: str | None = None
    thought: bool = False
    function_call: GeminiFunctionCall | None = None


class GeminiContent(msgspec.Struct):
    parts: list[GeminiPart] = msgspec.field(default_factory=list)


class Candidate(msgspec.Struct, rename="camel"):
    content: GeminiContent | None = None
    finish_reason: str | None = None
    index: int = 0


class ModalityTokenCount(msgspec.Struct, rename="camel"):
    modality: str = ""
    token_count: int = 0


class UsageMetadata(msgspec.Struct, rename="camel"):
    prompt_token_count: int = 0
    candidates_token_count: int = 0
    thoughts_token_count: int | None = None
    cached_content_token_count: int | None = None
    total_token_count: int = 0
    # The prompt's tokens per modality (TEXT, IMAGE, AUDIO, VIDEO, DOCUMENT): audio is billed
    # at its own rate; image and video tokens at the text rate.
    prompt_tokens_details: list[ModalityTokenCount] | None = None

    def to_openai(self) -> Usage:
        # OpenAI counts reasoning tokens as completion tokens, and cached ones as prompt tokens.
        completion = self.candidates_token_count + (self.thoughts_token_count or 0)
        usage = make_usage(self.prompt_token_count, completion, self.total_token_count)
        if self.thoughts_token_count is not None:
            usage.completion_tokens_details = CompletionTokensDetails(self.thoughts_token_count)
        audio = sum(
            part.token_count
            for part in self.prompt_tokens_details or ()
            if part.modality == "AUDIO"
        )
        if self.cached_content_token_count is not None or audio:
            details = PromptTokensDetails(self.cached_content_token_count or 0)
            if audio:
                details.audio_tokens = audio
            usage.prompt_tokens_details = details
        return usage


class PromptFeedback(msgspec.Struct, rename="camel"):
    block_reason: str | None = None


class GenerateContentResponse(msgspec.Struct, rename="camel"):
    candidates: list[Candidate] = msgspec.field(default_factory=list)
    usage_metadata: UsageMetadata | None = None
    prompt_feedback: PromptFeedback | None = None
    model_version: str | None = None
    error: Any = None


decode_response = msgspec.json.Decoder(GenerateContentResponse).decode


def finish_reason(candidate: Candidate, called_tools: bool) -> str | None:
    if candidate.finish_reason is None:
        return None
    if called_tools and candidate.finish_reason == "STOP":
        return "tool_calls"
    return FINISH_REASONS.get(candidate.finish_reason, "stop")


def _visible_parts(candidate: Candidate) -> list[GeminiPart]:
    return [p for p in candidate.content.parts if not p.thought] if candidate.content else []


def _tool_call(call: GeminiFunctionCall) -> ToolCall:
    return tool_call(call.id or new_tool_call_id(), call.name, _encode(call.args).decode())


def completion_from_response(
    answer: GenerateContentResponse, request_id: str, model: str
) -> tuple[bytes, Usage | None, str | None]:
    choices = []
    for candidate in answer.candidates:
        parts = _visible_parts(candidate)
        text = "".join(part.text or "" for part in parts)
        calls = [_tool_call(part.function_call) for part in parts if part.function_call]
        message = ResponseMessage(content=text or None, tool_calls=calls or None)
        choices.append(Choice(candidate.index, message, finish_reason(candidate, bool(calls))))
    if not choices and answer.prompt_feedback and answer.prompt_feedback.block_reason:
        choices.append(Choice(0, ResponseMessage(content=None), "content_filter"))
    usage = answer.usage_metadata.to_openai() if answer.usage_metadata else None
    body = completion_body(request_id, answer.model_version or model, choices, usage)
    return body, usage, choices[0].finish_reason if choices else None


class StreamTranslator:
    """Gemini stream responses in, OpenAI chunks out; the last usage seen closes the stream."""

    def __init__(self, request_id: str, model: str) -> None:
        self.writer = ChunkWriter(request_id, model)
        self.usage: Usage | None = None
        self.finish_reason: str | None = None
        self._started = False
        self._tool_positions: dict[int, int] = {}

    def on_response(self, answer: GenerateContentResponse) -> list[bytes]:
        writer = self.writer
        chunks: list[bytes] = []
        if not self._started:
            self._started = True
            writer.model = answer.model_version or writer.model
            chunks.append(writer.delta(Delta(role="assistant", content="")))
        if answer.usage_metadata is not None:
            self.usage = answer.usage_metadata.to_openai()
        if not answer.candidates and answer.prompt_feedback and answer.prompt_feedback.block_reason:
            self.finish_reason = "content_filter"
            chunks.append(writer.finish("content_filter"))
        for candidate in answer.candidates:
            index = candidate.index
            for part in _visible_parts(candidate):
                if part.text:
                    chunks.append(writer.text(part.text, index))
                if part.function_call:
                    call = _tool_call(part.function_call)
                    position = self._tool_positions.get(index, 0)
                    self._tool_positions[index] = position + 1
                    chunks.append(
                        writer.tool_call(
                            position,
                            call.function.arguments,
                            call_id=call.id,
                            name=call.function.name,
                            index=index,
                        )
                    )
            finish = finish_reason(candidate, index in self._tool_positions)
            if finish is not None:
                self.finish_reason = finish
                chunks.append(writer.finish(finish, index))
        return chunks

    def close(self) -> list[bytes]:
        return [self.writer.usage(self.usage)] if self.usage is not None else []
