"""A fake Gemini API server: `POST /v1beta/models/{model}:generateContent`,
`:streamGenerateContent?alt=sse` and `:batchEmbedContents`, key in `x-goog-api-key`.

Shapes follow https://ai.google.dev/api/generate-content and https://ai.google.dev/api/embeddings;
a `batchEmbedContents` body that breaks that format gets Gemini's 400 INVALID_ARGUMENT.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from aiohttp import web

from tests.fakes.upstream import FakeUpstream, Scenario, is_base64, sse

TOP_LEVEL_KEYS = frozenset(
    {
        "contents",
        "systemInstruction",
        "tools",
        "toolConfig",
        "generationConfig",
        "safetySettings",
        "cachedContent",
    }
)
GENERATION_KEYS = frozenset(
    {
        "temperature",
        "topP",
        "topK",
        "maxOutputTokens",
        "stopSequences",
        "candidateCount",
        "seed",
        "presencePenalty",
        "frequencyPenalty",
        "responseMimeType",
        "responseJsonSchema",
        "responseSchema",
        "thinkingConfig",
        "responseLogprobs",
        "logprobs",
    }
)
PART_KEYS = frozenset(
    {"text", "inlineData", "inline_data", "functionCall", "functionResponse", "fileData"}
)


def _part_problem(part: Any, where: str) -> str | None:
    keys = PART_KEYS.intersection(part) if isinstance(part, dict) else set()
    if len(keys) != 1:
        return f"{where}: a part holds exactly one kind of data"
    inline = part.get("inlineData")
    if inline is not None and (
        not isinstance(inline.get("mimeType"), str) or not is_base64(inline.get("data"))
    ):
        return f"{where}.inlineData: expected mimeType and base64 data"
    return None


def _config_problem(config: Any) -> str | None:
    if not isinstance(config, dict):
        return "generationConfig: expected an object"
    for key in config:
        if key not in GENERATION_KEYS:
            return f"Invalid JSON payload received. Unknown name \"{key}\" at 'generation_config'"
    thinking = config.get("thinkingConfig")
    if thinking is not None:
        budget = thinking.get("thinkingBudget") if isinstance(thinking, dict) else None
        if not isinstance(budget, int) or not -1 <= budget <= 32768:
            return "generationConfig.thinkingConfig.thinkingBudget: expected -1 to 32768"
    count = config.get("candidateCount", 1)
    if not isinstance(count, int) or not 1 <= count <= 8:
        return "generationConfig.candidateCount: expected 1 to 8"
    return None


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

    def problem(self, request: web.Request, body: Any) -> str | None:
        """https://ai.google.dev/api/generate-content: unknown names are refused."""
        if request.match_info.get("method") == "batchEmbedContents":
            return None  # checked by batch_embed_problem before it gets here
        if not isinstance(body, dict):
            return "The body must be a JSON object."
        for key in body:
            if key not in TOP_LEVEL_KEYS:
                return f'Invalid JSON payload received. Unknown name "{key}"'
        contents = body.get("contents")
        if not isinstance(contents, list) or not contents:
            return "* GenerateContentRequest.contents: contents is not specified"
        for index, content in enumerate(contents):
            if not isinstance(content, dict) or content.get("role") not in {"user", "model"}:
                return f"contents[{index}].role: expected user or model"
            for part_index, part in enumerate(content.get("parts") or [None]):
                problem = _part_problem(part, f"contents[{index}].parts[{part_index}]")
                if problem is not None:
                    return problem
        if "generationConfig" in body:
            return _config_problem(body["generationConfig"])
        return None

    def invalid_body(self, message: str) -> dict[str, Any]:
        return {"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}}

    @staticmethod
    def _usage(scenario: Scenario) -> dict[str, int]:
        """Gemini reports thought tokens apart from (and not inside) the candidates' tokens."""
        thoughts = scenario.reasoning_tokens or 0
        usage = {
            "promptTokenCount": scenario.prompt_tokens,
            "candidatesTokenCount": scenario.completion_tokens - thoughts,
            "totalTokenCount": scenario.total_tokens,
        }
        if scenario.reasoning_tokens is not None:
            usage["thoughtsTokenCount"] = thoughts
        if scenario.cached_tokens is not None:
            usage["cachedContentTokenCount"] = scenario.cached_tokens
        return usage

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
        count = (body.get("generationConfig") or {}).get("candidateCount", 1)
        candidates = [{**self._candidate(parts, "STOP"), "index": i} for i in range(count)]
        return {
            "candidates": candidates,
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
