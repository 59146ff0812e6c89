"""A fake Gemini API server: `POST /v1beta/models/{model}:generateContent`,
`:streamGenerateContent?alt=sse` and `:batchEmbedContents`, key in `x-goog-api-key`.

Shapes follow https://ai.google.dev/api/generate-content and https://ai.google.dev/api/embeddings;
a `batchEmbedContents` body that breaks that format gets Gemini's 400 INVALID_ARGUMENT.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from aiohttp import web

from tests.fakes.upstream import FakeUpstream, Scenario, sse

EMBED_REQUEST_FIELDS = frozenset({"model", "content", "taskType", "title", "outputDimensionality"})
MAX_BATCH = 100
FAKE_EMBEDDING_DIMENSIONS = 4

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

    async def _serve(
        self, request: web.Request, body: Any, model: str | None, scenario: Scenario
    ) -> web.StreamResponse:
        if request.match_info.get("method") != "batchEmbedContents":
            return await super()._serve(request, body, model, scenario)
        problem = batch_embed_problem(body, model)
        if problem is not None:
            error = {"code": 400, "message": problem, "status": "INVALID_ARGUMENT"}
            return web.json_response({"error": error}, status=400)
        if scenario.body is None:
            scenario = dataclasses.replace(scenario, body=batch_embed_answer(body))
        return await super()._serve(request, body, model, scenario)

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


def fake_values(text: str, dimensions: int) -> list[float]:
    """Exactly representable in float32; the first value is the text's length."""
    return [float(len(text)) + k * 0.25 for k in range(dimensions)]


def batch_embed_answer(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "embeddings": [
            {
                "values": fake_values(
                    item["content"]["parts"][0]["text"],
                    item.get("outputDimensionality") or FAKE_EMBEDDING_DIMENSIONS,
                )
            }
            for item in body["requests"]
        ]
    }


def _embed_request_problem(item: Any, model_name: str) -> str | None:
    if not isinstance(item, dict) or set(item) - EMBED_REQUEST_FIELDS:
        return "Invalid JSON payload: unknown field in an EmbedContentRequest."
    if item.get("model") != model_name:
        return "The model in each request must match the batch's model."
    content = item.get("content")
    if not isinstance(content, dict) or set(content) - {"parts", "role"}:
        return "* content: a Content object is required."
    parts = content.get("parts")
    if not isinstance(parts, list) or not parts:
        return "* content.parts: must not be empty."
    if not all(isinstance(p, dict) and set(p) == {"text"} and p["text"] for p in parts):
        return "* content.parts: only non-empty text parts are embedded."
    dimensions = item.get("outputDimensionality")
    if dimensions is not None and (not isinstance(dimensions, int) or dimensions < 1):
        return "* outputDimensionality: must be a positive integer."
    return None


def batch_embed_problem(body: Any, model: str | None) -> str | None:
    if not isinstance(body, dict) or set(body) != {"requests"}:
        return "Invalid JSON payload: expected exactly `requests`."
    requests = body["requests"]
    if not isinstance(requests, list) or not requests:
        return "* requests: must not be empty."
    if len(requests) > MAX_BATCH:
        return f"* BatchEmbedContentsRequest.requests: at most {MAX_BATCH} requests per batch."
    for item in requests:
        problem = _embed_request_problem(item, f"models/{model}")
        if problem is not None:
            return problem
    return None
