"""A fake Gemini API server: `POST /v1beta/models/{model}:generateContent` and
`:streamGenerateContent?alt=sse`, key in `x-goog-api-key`.

Shapes follow https://ai.google.dev/api/generate-content.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tests.fakes.upstream import FakeUpstream, Scenario, sse

ERROR_STATUSES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    503: "UNAVAILABLE",
}


class FakeGemini(FakeUpstream):
    def routes(self) -> list[web.RouteDef]:
        return [web.post("/v1beta/models/{model}:{method}", self.handle)]

    def model_of(self, request: web.Request, body: Any) -> str | None:
        return request.match_info.get("model")

    def is_stream(self, request: web.Request, body: Any) -> bool:
        return request.match_info.get("method") == "streamGenerateContent"

    def key_of(self, request: web.Request) -> str | None:
        return request.headers.get("x-goog-api-key")

    @staticmethod
    def _usage(scenario: Scenario) -> dict[str, int]:
        return {
            "promptTokenCount": scenario.prompt_tokens,
            "candidatesTokenCount": scenario.completion_tokens,
            "totalTokenCount": scenario.total_tokens,
        }

    @staticmethod
    def _candidate(parts: list[dict[str, Any]], finish: str | None) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
        if finish:
            candidate["finishReason"] = finish
        return candidate

    def answer(self, body: Any, model: str | None, scenario: Scenario) -> dict[str, Any]:
        if scenario.tool_call is None:
            parts: list[dict[str, Any]] = [{"text": scenario.text}]
        else:
            call = scenario.tool_call
            parts = [{"functionCall": {"name": call.name, "args": call.arguments}}]
        return {
            "candidates": [self._candidate(parts, "STOP")],
            "usageMetadata": self._usage(scenario),
            "modelVersion": model,
            "responseId": "fake-response-1",
        }

    def stream_frames(self, body: Any, model: str | None, scenario: Scenario) -> list[bytes]:
        if scenario.tool_call is not None:
            return [sse(self.answer(body, model, scenario))]
        words = scenario.words()
        frames = []
        for index, word in enumerate(words):
            last = index == len(words) - 1
            usage = self._usage(scenario)
            if not last:
                usage = {"promptTokenCount": scenario.prompt_tokens, "totalTokenCount": 0}
            frames.append(
                sse(
                    {
                        "candidates": [self._candidate([{"text": word}], "STOP" if last else None)],
                        "usageMetadata": usage,
                        "modelVersion": model,
                        "responseId": "fake-response-1",
                    }
                )
            )
        return frames

    def error_body(self, status: int) -> dict[str, Any]:
        state = ERROR_STATUSES.get(status, "INTERNAL")
        return {"error": {"code": status, "message": f"Fake {state}.", "status": state}}

    def error_frame(self) -> bytes:
        return sse(self.error_body(500))
