"""A fake Anthropic Messages server: `POST /v1/messages`, `x-api-key`, `anthropic-version`.

Answers and stream events follow https://docs.anthropic.com/en/api/messages and
https://docs.anthropic.com/en/docs/build-with-claude/streaming.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tests.fakes.upstream import FakeUpstream, Scenario, is_base64, split_arguments, sse

TOP_LEVEL_KEYS = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "system",
        "metadata",
        "stop_sequences",
        "stream",
        "temperature",
        "top_p",
        "top_k",
        "tools",
        "tool_choice",
        "thinking",
        "service_tier",
    }
)
BLOCK_TYPES = frozenset(
    {"text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking"}
)
MIN_THINKING_BUDGET = 1024


def _block_problem(block: Any, where: str) -> str | None:
    kind = block.get("type") if isinstance(block, dict) else None
    if kind not in BLOCK_TYPES:
        return f"{where}.type: Input tag {kind!r} does not match any of the expected tags"
    if kind == "document":
        source = block.get("source")
        if not isinstance(source, dict) or source.get("type") not in {"base64", "url", "text"}:
            return f"{where}.source: expected a base64, url or text source"
        if source["type"] == "base64" and (
            source.get("media_type") != "application/pdf" or not is_base64(source.get("data"))
        ):
            return f"{where}.source: expected base64 application/pdf data"
        if "title" in block and not isinstance(block["title"], str):
            return f"{where}.title: expected a string"
    if kind == "image":
        source = block.get("source")
        if not isinstance(source, dict) or source.get("type") not in {"base64", "url"}:
            return f"{where}.source: expected a base64 or url source"
    return None


def _thinking_problem(body: dict[str, Any]) -> str | None:
    thinking = body.get("thinking")
    if thinking is None:
        return None
    budget = thinking.get("budget_tokens") if isinstance(thinking, dict) else None
    if thinking.get("type") != "enabled" or not isinstance(budget, int):
        return "thinking: expected {type: enabled, budget_tokens}"
    if budget < MIN_THINKING_BUDGET:
        return f"thinking.budget_tokens: Input should be at least {MIN_THINKING_BUDGET}"
    if body["max_tokens"] <= budget:
        return "`max_tokens` must be greater than `thinking.budget_tokens`"
    if body.get("temperature", 1) != 1:
        return "`temperature` may only be set to 1 when thinking is enabled"
    if not 0.95 <= body.get("top_p", 1) <= 1:
        return "`top_p` must be between 0.95 and 1 when thinking is enabled"
    if (body.get("tool_choice") or {}).get("type") in {"any", "tool"}:
        return "Thinking may not be enabled when tool_choice forces tool use."
    return None


ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


class FakeAnthropic(FakeUpstream):
    message_id = "msg_fake_1"

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/v1/messages", self.handle)]

    def key_of(self, request: web.Request) -> str | None:
        return request.headers.get("x-api-key")

    def problem(self, request: web.Request, body: Any) -> str | None:
        """https://docs.anthropic.com/en/api/messages: unknown fields are refused."""
        if not isinstance(body, dict):
            return "The body must be a JSON object."
        for key in body:
            if key not in TOP_LEVEL_KEYS:
                return f"{key}: Extra inputs are not permitted"
        max_tokens = body.get("max_tokens")
        if not isinstance(max_tokens, int) or max_tokens < 1:
            return "max_tokens: Field required"
        temperature = body.get("temperature", 0)
        if not isinstance(temperature, int | float) or not 0 <= temperature <= 1:
            return "temperature: Input should be less than or equal to 1"
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return "messages: at least one message is required"
        for index, message in enumerate(messages):
            if not isinstance(message, dict) or message.get("role") not in {"user", "assistant"}:
                return f"messages.{index}.role: Input should be 'user' or 'assistant'"
            content = message.get("content")
            if isinstance(content, list):
                for block_index, block in enumerate(content):
                    problem = _block_problem(block, f"messages.{index}.content.{block_index}")
                    if problem is not None:
                        return problem
        last = messages[-1]
        if last.get("role") == "assistant":
            prefill = self.prefill_of(body) or ""
            if prefill != prefill.rstrip():
                return "messages: final assistant content cannot end with trailing whitespace"
        return _thinking_problem(body)

    def invalid_body(self, message: str) -> dict[str, Any]:
        return {"type": "error", "error": {"type": "invalid_request_error", "message": message}}

    def _blocks(self, scenario: Scenario) -> list[dict[str, Any]]:
        if scenario.tool_call is None:
            return [{"type": "text", "text": scenario.text}]
        call = scenario.tool_call
        return [{"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}]

    @staticmethod
    def _stop_reason(scenario: Scenario) -> str:
        return "tool_use" if scenario.tool_call is not None else "end_turn"

    def answer(self, body: Any, model: str | None, scenario: Scenario) -> dict[str, Any]:
        return {
            "id": self.message_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": self._blocks(scenario),
            "stop_reason": self._stop_reason(scenario),
            "stop_sequence": None,
            "usage": {
                **self._input_usage(scenario),
                "output_tokens": scenario.completion_tokens,
            },
        }

    @staticmethod
    def _input_usage(scenario: Scenario) -> dict[str, int]:
        """Anthropic's input_tokens leave out the cached tokens, which it reports apart."""
        read = scenario.cached_tokens or 0
        written = scenario.cache_creation_tokens or 0
        usage = {"input_tokens": scenario.prompt_tokens - read - written}
        if scenario.cached_tokens is not None or scenario.cache_creation_tokens is not None:
            usage["cache_read_input_tokens"] = read
            usage["cache_creation_input_tokens"] = written
        return usage

    def stream_frames(self, body: Any, model: str | None, scenario: Scenario) -> list[bytes]:
        start = {
            "type": "message_start",
            "message": {
                "id": self.message_id,
                "type": "message",
                "role": "assistant",
                "content": [],
                "model": model,
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {**self._input_usage(scenario), "output_tokens": 1},
            },
        }
        frames = [sse(start, "message_start")]
        if scenario.tool_call is None:
            block: dict[str, Any] = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": word} for word in scenario.words()]
        else:
            call = scenario.tool_call
            block = {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}
            deltas = [
                {"type": "input_json_delta", "partial_json": piece}
                for piece in split_arguments(call.arguments)
            ]
        frames.append(
            sse(
                {"type": "content_block_start", "index": 0, "content_block": block},
                "content_block_start",
            )
        )
        frames.append(sse({"type": "ping"}, "ping"))
        frames += [
            sse({"type": "content_block_delta", "index": 0, "delta": delta}, "content_block_delta")
            for delta in deltas
        ]
        frames.append(sse({"type": "content_block_stop", "index": 0}, "content_block_stop"))
        frames.append(
            sse(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": self._stop_reason(scenario), "stop_sequence": None},
                    "usage": {"output_tokens": scenario.completion_tokens},
                },
                "message_delta",
            )
        )
        frames.append(sse({"type": "message_stop"}, "message_stop"))
        return frames

    def error_body(self, status: int) -> dict[str, Any]:
        kind = ERROR_TYPES.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": f"Fake {kind}."}}

    def error_frame(self) -> bytes:
        return sse(self.error_body(529), "error")
