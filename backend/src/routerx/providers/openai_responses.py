"""The Responses API passed through to an upstream that speaks it (OpenAI, Azure OpenAI).

The upstream body is the client's own with `model` replaced and gateway-only keys dropped, so
`store`, `previous_response_id`, conversations and built-in tools work where the upstream keeps
that state. Answers and events are relayed as the upstream's bytes; only the usage, the final
status and errors are read, for the request log.
"""

from __future__ import annotations

from typing import Any

import msgspec

from routerx.providers.base import Call, Completion, StreamStats
from routerx.providers.http import answered_with_error, protocol_error, stream_error
from routerx.wire.openai import CompletionTokensDetails, PromptTokensDetails, Usage

API = "responses"
FINISHED_EVENTS = frozenset({"response.completed", "response.incomplete"})
FAILED_EVENTS = frozenset({"error", "response.failed"})
INCOMPLETE_FINISH = {"max_output_tokens": "length", "content_filter": "content_filter"}


class _InputDetailsView(msgspec.Struct):
    cached_tokens: int = 0


class _OutputDetailsView(msgspec.Struct):
    reasoning_tokens: int = 0


class _UsageView(msgspec.Struct):
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    # The details that change the cost: cache reads, and reasoning billed as output.
    input_tokens_details: _InputDetailsView | None = None
    output_tokens_details: _OutputDetailsView | None = None


class _IncompleteView(msgspec.Struct):
    reason: str | None = None


class _OutputView(msgspec.Struct):
    type: str = ""


class _ResponseView(msgspec.Struct):
    status: str | None = None
    usage: _UsageView | None = None
    incomplete_details: _IncompleteView | None = None
    output: list[_OutputView] = msgspec.field(default_factory=list)
    error: Any = None


class _EventView(msgspec.Struct):
    type: str = ""
    response: _ResponseView | None = None
    error: Any = None


_decode_response = msgspec.json.Decoder(_ResponseView).decode
_decode_event = msgspec.json.Decoder(_EventView).decode


def native_body(call: Call, gateway_only_keys: frozenset[str], *, stream: bool) -> bytes:
    assert call.native is not None
    body = {k: v for k, v in call.native[1].items() if k not in gateway_only_keys}
    body["model"] = call.upstream_model
    if stream:
        body["stream"] = True
    else:
        body.pop("stream", None)
        body.pop("stream_options", None)
    return msgspec.json.encode(body)


def _usage(view: _ResponseView) -> Usage | None:
    usage = view.usage
    if usage is None:
        return None
    total = usage.total_tokens or usage.input_tokens + usage.output_tokens
    result = Usage(usage.input_tokens, usage.output_tokens, total)
    if usage.input_tokens_details is not None:
        result.prompt_tokens_details = PromptTokensDetails(usage.input_tokens_details.cached_tokens)
    if usage.output_tokens_details is not None:
        result.completion_tokens_details = CompletionTokensDetails(
            usage.output_tokens_details.reasoning_tokens
        )
    return result


def _finish_reason(view: _ResponseView) -> str | None:
    """The Chat Completions finish reason the request log records for a Response's status."""
    if view.status == "completed":
        return "tool_calls" if any(o.type == "function_call" for o in view.output) else "stop"
    if view.status == "incomplete":
        reason = view.incomplete_details.reason if view.incomplete_details else None
        return INCOMPLETE_FINISH.get(reason or "", "length")
    return None


def completion_of(data: bytes, provider: str) -> Completion:
    try:
        view = _decode_response(data)
    except msgspec.DecodeError:
        raise protocol_error(provider) from None
    if view.error is not None or view.status == "failed":
        raise answered_with_error(provider)
    return Completion(data, _usage(view), _finish_reason(view), API)


def observe_event(data: bytes, event: str | None, stats: StreamStats, provider: str) -> None:
    """Usage and finish from the closing event; an upstream error ends the attempt (before the
    first event relayed, the next target is tried)."""
    try:
        view = _decode_event(data)
    except msgspec.DecodeError:
        raise protocol_error(provider) from None
    if event in FAILED_EVENTS or view.type in FAILED_EVENTS or view.error is not None:
        raise stream_error(provider)
    if view.type in FINISHED_EVENTS and view.response is not None:
        stats.usage = _usage(view.response)
        stats.finish_reason = _finish_reason(view.response)
