"""OpenAI finish reasons -> Anthropic stop reasons.

Chat Completions says `stop` both for a natural end and for a stop sequence; a stop sequence is
reported only when the upstream names the one that matched (a choice's `stop_reason`, as vLLM
sends it) and it is one the client asked for.
"""

from __future__ import annotations

from routerx.wire import anthropic as wire

STOP_REASONS: dict[str, wire.StopReason] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}


def stop_reason(
    finish_reason: str | None, matched: str | int | None, stop_sequences: list[str]
) -> tuple[wire.StopReason, str | None]:
    """(stop_reason, stop_sequence) for an answer that ended with `finish_reason`."""
    if finish_reason == "stop" and isinstance(matched, str) and matched in stop_sequences:
        return "stop_sequence", matched
    return STOP_REASONS.get(finish_reason or "stop", "end_turn"), None


def requested_stops(stop: str | list[str] | None) -> list[str]:
    if stop is None:
        return []
    return [stop] if isinstance(stop, str) else stop
