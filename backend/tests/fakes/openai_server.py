"""A fake OpenAI Chat Completions server; it also answers Azure OpenAI deployment URLs.

Routes: `POST /v1/chat/completions` (Bearer key) and
`POST /openai/deployments/{deployment}/chat/completions?api-version=...` (`api-key` header).
"""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web

from tests.fakes.upstream import FakeUpstream, Scenario, split_arguments, sse

ERROR_TYPES = {
    400: ("invalid_request_error", "Invalid value for 'messages'."),
    401: ("invalid_request_error", "Incorrect API key provided."),
    404: ("invalid_request_error", "The model does not exist."),
    429: ("rate_limit_error", "Rate limit reached for requests."),
}


class FakeOpenAI(FakeUpstream):
    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/v1/chat/completions", self.handle),
            web.post("/openai/deployments/{deployment}/chat/completions", self.handle),
        ]

    def model_of(self, request: web.Request, body: Any) -> str | None:
        return request.match_info.get("deployment") or super().model_of(request, body)

    def key_of(self, request: web.Request) -> str | None:
        if "api-key" in request.headers:
            return request.headers["api-key"]
        return request.headers.get("authorization", "").removeprefix("Bearer ") or None

    def _base(self, model: str | None, kind: str) -> dict[str, Any]:
        return {
            "id": "chatcmpl-fake1",
            "object": kind,
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_fake",
        }

    def _usage(self, scenario: Scenario) -> dict[str, int]:
        return {
            "prompt_tokens": scenario.prompt_tokens,
            "completion_tokens": scenario.completion_tokens,
            "total_tokens": scenario.total_tokens,
        }

    def answer(self, body: Any, model: str | None, scenario: Scenario) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": scenario.text, "refusal": None}
        finish = "stop"
        if scenario.tool_call is not None:
            call = scenario.tool_call
            message["content"] = None
            message["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
                }
            ]
            finish = "tool_calls"
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
        return {
            **self._base(model, "chat.completion"),
            "choices": [choice],
            "usage": self._usage(scenario),
        }

    def stream_frames(self, body: Any, model: str | None, scenario: Scenario) -> list[bytes]:
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        base = self._base(model, "chat.completion.chunk")

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            payload = {
                **base,
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                ],
            }
            if include_usage:
                payload["usage"] = None
            return sse(payload)

        if scenario.tool_call is not None:
            call = scenario.tool_call
            frames = [
                chunk(
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": call.id,
                                "type": "function",
                                "function": {"name": call.name, "arguments": ""},
                            }
                        ],
                    }
                )
            ]
            frames += [
                chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
                for piece in split_arguments(call.arguments)
            ]
            finish = "tool_calls"
        else:
            frames = [chunk({"role": "assistant", "content": "", "refusal": None})]
            frames += [chunk({"content": word}) for word in scenario.words()]
            finish = "stop"
        frames.append(chunk({}, finish))
        if include_usage:
            frames.append(sse({**base, "choices": [], "usage": self._usage(scenario)}))
        frames.append(b"data: [DONE]\n\n")
        return frames

    def error_body(self, status: int) -> dict[str, Any]:
        kind, message = ERROR_TYPES.get(status, ("server_error", "The server had an error."))
        return {"error": {"message": message, "type": kind, "param": None, "code": None}}

    def error_frame(self) -> bytes:
        return sse(self.error_body(500))
