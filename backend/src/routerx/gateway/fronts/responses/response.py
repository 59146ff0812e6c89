"""A `chat.completion` -> the Response object (pure, no I/O)."""

from __future__ import annotations

import time
from typing import Any, Literal

import msgspec

from routerx.wire.responses import (
    ChatAnswerView,
    ChatUsage,
    IncompleteDetails,
    InputTokensDetails,
    OutputFunctionCall,
    OutputItem,
    OutputMessage,
    OutputReasoning,
    OutputRefusal,
    OutputText,
    OutputTokensDetails,
    ReasoningText,
    Response,
    ResponseError,
    ResponsesRequest,
    ResponseUsage,
)

Status = Literal["in_progress", "completed", "incomplete", "failed"]
_decode_answer = msgspec.json.Decoder(ChatAnswerView).decode
encode = msgspec.json.Encoder().encode
INCOMPLETE_REASONS: dict[str, Literal["max_output_tokens", "content_filter"]] = {
    "length": "max_output_tokens",
    "content_filter": "content_filter",
}


def response_id(request_id: str) -> str:
    return f"resp_{request_id}"


def item_id(prefix: str, request_id: str, output_index: int) -> str:
    return f"{prefix}_{request_id}_{output_index}"


def response_usage(usage: ChatUsage | None) -> ResponseUsage | None:
    if usage is None:
        return None
    cached = usage.prompt_tokens_details.cached_tokens if usage.prompt_tokens_details else None
    details = usage.completion_tokens_details
    reasoning = details.reasoning_tokens if details else None
    total = usage.total_tokens or usage.prompt_tokens + usage.completion_tokens
    return ResponseUsage(
        usage.prompt_tokens,
        usage.completion_tokens,
        total,
        InputTokensDetails(cached or 0),
        OutputTokensDetails(reasoning or 0),
    )


class ResponseShell:
    """The request-dependent part of every Response object of one request."""

    __slots__ = ("created_at", "echo", "id", "model")

    def __init__(self, request: ResponsesRequest, request_id: str) -> None:
        self.id = response_id(request_id)
        self.created_at = int(time.time())
        self.model = request.model
        text: dict[str, Any] = {"format": {"type": "text"}}
        if request.text is not None:
            text = msgspec.to_builtins(request.text)
            text.setdefault("format", {"type": "text"})
        reasoning = msgspec.to_builtins(request.reasoning) if request.reasoning else None
        self.echo: dict[str, Any] = {
            "instructions": request.instructions,
            "max_output_tokens": request.max_output_tokens,
            "parallel_tool_calls": (
                True if request.parallel_tool_calls is None else request.parallel_tool_calls
            ),
            "tool_choice": request.tool_choice if request.tool_choice is not None else "auto",
            "tools": request.tools or [],
            "temperature": 1.0 if request.temperature is None else request.temperature,
            "top_p": 1.0 if request.top_p is None else request.top_p,
            "text": text,
            "reasoning": reasoning,
            "metadata": request.metadata or {},
            "user": request.user,
        }

    def response(
        self,
        status: Status,
        output: list[OutputItem],
        usage: ResponseUsage | None = None,
        *,
        finish_reason: str | None = None,
        error: ResponseError | None = None,
        model: str | None = None,
    ) -> Response:
        incomplete = None
        reason = INCOMPLETE_REASONS.get(finish_reason or "")
        if status == "completed" and reason is not None:
            status, incomplete = "incomplete", IncompleteDetails(reason)
        return Response(
            id=self.id,
            created_at=self.created_at,
            status=status,
            model=model or self.model,
            output=output,
            usage=usage,
            error=error,
            incomplete_details=incomplete,
            **self.echo,
        )


def encode_response(body: bytes, request: ResponsesRequest, request_id: str) -> bytes:
    """The Response object for one non-stream chat.completion body."""
    answer = _decode_answer(body)
    choice = answer.choices[0] if answer.choices else None
    finish = choice.finish_reason if choice else None
    item_status: Literal["completed", "incomplete"] = (
        "incomplete" if finish in INCOMPLETE_REASONS else "completed"
    )
    output: list[OutputItem] = []
    message = choice.message if choice else None
    if message is not None:
        reasoning = message.reasoning_text
        if reasoning:
            output.append(
                OutputReasoning(
                    item_id("rs", request_id, len(output)),
                    [],
                    [ReasoningText(reasoning)],
                    item_status,
                )
            )
        content: list[OutputText | OutputRefusal] = []
        if message.content:
            content.append(OutputText(message.content))
        if message.refusal:
            content.append(OutputRefusal(message.refusal))
        if content:
            output.append(
                OutputMessage(item_id("msg", request_id, len(output)), item_status, content)
            )
        for call in message.tool_calls or ():
            function = call.function
            output.append(
                OutputFunctionCall(
                    item_id("fc", request_id, len(output)),
                    call.id or item_id("call", request_id, len(output)),
                    (function.name if function else None) or "",
                    (function.arguments if function else None) or "",
                    item_status,
                )
            )
    shell = ResponseShell(request, request_id)
    response = shell.response(
        "completed", output, response_usage(answer.usage), finish_reason=finish, model=answer.model
    )
    return encode(response)
