"""A fake Anthropic Messages server: `POST /v1/messages`, `x-api-key`, `anthropic-version`.

Answers and stream events follow https://docs.anthropic.com/en/api/messages and
https://docs.anthropic.com/en/docs/build-with-claude/streaming.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tests.fakes.upstream import FakeUpstream, Scenario, split_arguments, sse

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
                "input_tokens": scenario.prompt_tokens,
                "output_tokens": scenario.completion_tokens,
            },
        }

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
                "usage": {"input_tokens": scenario.prompt_tokens, "output_tokens": 1},
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
