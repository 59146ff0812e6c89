"""A fake OpenAI Chat Completions and Embeddings server; it also answers Azure OpenAI
deployment URLs.

Routes: `POST /v1/chat/completions` and `POST /v1/embeddings` (Bearer key),
`POST /openai/deployments/{deployment}/chat/completions?api-version=...` and
`.../deployments/{deployment}/embeddings?api-version=...` (`api-key` header).

Embeddings requests are checked strictly against https://platform.openai.com/docs/api-reference/embeddings:
a body that breaks the format gets OpenAI's 400, so an adapter that sends one fails its test.

The Responses API: `POST /v1/responses` and Azure's `POST /openai/v1/responses`, answering a
Response object or its event stream (`event:` lines, `sequence_number`, no `[DONE]`).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import struct
import time
from typing import Any

from aiohttp import web

from tests.fakes.upstream import (
    FakeUpstream,
    RecordedRequest,
    Scenario,
    is_base64,
    split_arguments,
    sse,
)

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
REASONING_EFFORTS = frozenset({"minimal", "low", "medium", "high"})
AUDIO_FORMATS = frozenset({"wav", "mp3"})
PART_TYPES = frozenset({"text", "image_url", "input_audio", "file"})


def _part_problem(part: Any, where: str) -> str | None:
    """The documented content parts of a user message, checked as the API does."""
    kind = part.get("type") if isinstance(part, dict) else None
    if kind not in PART_TYPES:
        return f"{where}.type: invalid content part type {kind!r}"
    if kind == "text" and not isinstance(part.get("text"), str):
        return f"{where}.text: expected a string"
    if kind == "image_url":
        image = part.get("image_url")
        if not isinstance(image, dict) or not isinstance(image.get("url"), str):
            return f"{where}.image_url: expected an object with `url`"
    if kind == "input_audio":
        audio = part.get("input_audio")
        if not isinstance(audio, dict) or not is_base64(audio.get("data")):
            return f"{where}.input_audio.data: expected base64 data"
        if audio.get("format") not in AUDIO_FORMATS:
            return f"{where}.input_audio.format: expected wav or mp3"
    if kind == "file":
        file = part.get("file")
        if not isinstance(file, dict) or ("file_data" in file) == ("file_id" in file):
            return f"{where}.file: expected one of `file_data` or `file_id`"
        data = file.get("file_data")
        if data is not None and not (
            isinstance(data, str)
            and data.startswith("data:application/pdf;base64,")
            and is_base64(data.partition(",")[2])
        ):
            return f"{where}.file.file_data: expected a base64 data URL"
    return None


EMBEDDING_FIELDS = frozenset({"model", "input", "dimensions", "encoding_format", "user"})
FAKE_EMBEDDING_DIMENSIONS = 4

ERROR_TYPES = {
    400: ("invalid_request_error", "Invalid value for 'messages'."),
    401: ("invalid_request_error", "Incorrect API key provided."),
    404: ("invalid_request_error", "The model does not exist."),
    429: ("rate_limit_error", "Rate limit reached for requests."),
}


class FakeOpenAI(FakeUpstream):
    # As some OpenAI-compatible servers do: refuse any request that has `stream_options`.
    reject_stream_options: bool = False

    def reset(self) -> None:
        super().reset()
        self.reject_stream_options = False

    def problem(self, request: web.Request, body: Any) -> str | None:
        if request.path.endswith(("/embeddings", "/responses")):
            return None  # checked by their own schema checks before they get here
        if not isinstance(body, dict):
            return "The body must be a JSON object."
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return "messages: expected a non-empty array"
        for index, message in enumerate(messages):
            if not isinstance(message, dict) or message.get("role") not in ROLES:
                return f"messages[{index}].role: invalid role"
            content = message.get("content")
            if isinstance(content, list) and message["role"] == "user":
                for part_index, part in enumerate(content):
                    problem = _part_problem(part, f"messages[{index}].content[{part_index}]")
                    if problem is not None:
                        return problem
        if "stream_options" in body:
            if self.reject_stream_options:
                return "Unrecognized request argument supplied: stream_options"
            if not body.get("stream"):
                return "stream_options: only allowed when stream is true"
        effort = body.get("reasoning_effort")
        if effort is not None and effort not in REASONING_EFFORTS:
            return "reasoning_effort: invalid value"
        top = body.get("top_logprobs")
        if top is not None and (not isinstance(top, int) or not 0 <= top <= 20):
            return "top_logprobs: expected an integer from 0 to 20"
        if top is not None and body.get("logprobs") is not True:
            return "top_logprobs: requires logprobs to be true"
        n = body.get("n", 1)
        if not isinstance(n, int) or n < 1:
            return "n: expected a positive integer"
        return None

    def invalid_body(self, message: str) -> dict[str, Any]:
        param = message.partition(":")[0] if ": " in message else None
        return {
            "error": {
                "message": message,
                "type": "invalid_request_error",
                "param": param,
                "code": "invalid_value",
            }
        }

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/v1/chat/completions", self.handle),
            web.post("/openai/deployments/{deployment}/chat/completions", self.handle),
            web.post("/v1/responses", self.handle_responses),
            web.post("/openai/v1/responses", self.handle_responses),
            web.post("/v1/embeddings", self.handle),
            web.post("/openai/deployments/{deployment}/embeddings", self.handle),
            web.get("/v1/models", self.list_models),
        ]

    async def list_models(self, request: web.Request) -> web.Response:
        """GET /v1/models (https://platform.openai.com/docs/api-reference/models/list)."""
        self.requests.append(
            RecordedRequest(
                request.method, request.path, dict(request.query), dict(request.headers), None
            )
        )
        if self.expected_key is not None and self.key_of(request) != self.expected_key:
            return web.json_response(self.error_body(401), status=401)
        scenario = self._next(None)
        if scenario.status != 200:
            return web.json_response(self.error_body(scenario.status), status=scenario.status)
        model = {"id": "fake-model-1", "object": "model", "created": 0, "owned_by": "fake"}
        return web.json_response({"object": "list", "data": [model]})

    async def handle_responses(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        if not isinstance(body, dict) or "model" not in body or "messages" in body:
            return web.json_response(
                {"error": {"message": "Invalid body.", "type": "invalid_request_error"}},
                status=400,
            )
        return await self.handle(request)

    def model_of(self, request: web.Request, body: Any) -> str | None:
        return request.match_info.get("deployment") or super().model_of(request, body)

    def key_of(self, request: web.Request) -> str | None:
        if "api-key" in request.headers:
            return request.headers["api-key"]
        return request.headers.get("authorization", "").removeprefix("Bearer ") or None

    async def _serve(
        self, request: web.Request, body: Any, model: str | None, scenario: Scenario
    ) -> web.StreamResponse:
        if not request.path.endswith("/embeddings"):
            return await super()._serve(request, body, model, scenario)
        azure = "deployment" in request.match_info
        problem = embeddings_problem(request, body, azure=azure)
        if problem is not None:
            error = {"message": problem, "type": "invalid_request_error", "param": None}
            return web.json_response({"error": {**error, "code": None}}, status=400)
        if scenario.body is None:
            scenario = dataclasses.replace(scenario, body=embeddings_answer(body, model, scenario))
        return await super()._serve(request, body, model, scenario)

    def _base(self, model: str | None, kind: str) -> dict[str, Any]:
        return {
            "id": "chatcmpl-fake1",
            "object": kind,
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_fake",
        }

    def _usage(self, scenario: Scenario) -> dict[str, Any]:
        usage: dict[str, Any] = {
            "prompt_tokens": scenario.prompt_tokens,
            "completion_tokens": scenario.completion_tokens,
            "total_tokens": scenario.total_tokens,
        }
        if scenario.cached_tokens is not None:
            usage["prompt_tokens_details"] = {
                "cached_tokens": scenario.cached_tokens,
                "audio_tokens": 0,
            }
        if scenario.reasoning_tokens is not None:
            usage["completion_tokens_details"] = {
                "reasoning_tokens": scenario.reasoning_tokens,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            }
        return usage

    @staticmethod
    def _logprobs(body: Any, text: str) -> dict[str, Any] | None:
        if not body.get("logprobs"):
            return None
        top = body.get("top_logprobs") or 0
        entry = {"token": text.split(" ", maxsplit=1)[0], "logprob": -0.25, "bytes": None}
        alternatives = [
            {"token": f"alt{i}", "logprob": -2.0 - i, "bytes": None} for i in range(top)
        ]
        return {"content": [{**entry, "top_logprobs": alternatives}], "refusal": None}

    def answer(self, body: Any, model: str | None, scenario: Scenario) -> dict[str, Any]:
        if _is_responses(body):
            return self._response(model, scenario, "completed", self._output(scenario, "completed"))
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
        logprobs = self._logprobs(body, scenario.text)
        choices = [
            {"index": index, "message": message, "logprobs": logprobs, "finish_reason": finish}
            for index in range(body.get("n", 1))
        ]
        return {
            **self._base(model, "chat.completion"),
            "choices": choices,
            "usage": self._usage(scenario),
        }

    def stream_frames(self, body: Any, model: str | None, scenario: Scenario) -> list[bytes]:
        if _is_responses(body):
            return self._response_events(model, scenario)
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

    # --- the Responses API --------------------------------------------------------------------

    def _output(self, scenario: Scenario, status: str) -> list[dict[str, Any]]:
        if scenario.tool_call is not None:
            call = scenario.tool_call
            return [
                {
                    "type": "function_call",
                    "id": "fc_fake1",
                    "call_id": call.id,
                    "name": call.name,
                    "arguments": json.dumps(call.arguments) if status == "completed" else "",
                    "status": status,
                }
            ]
        content = [{"type": "output_text", "text": scenario.text, "annotations": []}]
        return [
            {
                "type": "message",
                "id": "msg_fake1",
                "role": "assistant",
                "status": status,
                "content": content if status == "completed" else [],
            }
        ]

    def _response(
        self, model: str | None, scenario: Scenario, status: str, output: list[dict[str, Any]]
    ) -> dict[str, Any]:
        usage = None
        if status == "completed":
            usage = {
                "input_tokens": scenario.prompt_tokens,
                "input_tokens_details": {"cached_tokens": scenario.cached_tokens or 0},
                "output_tokens": scenario.completion_tokens,
                "output_tokens_details": {"reasoning_tokens": scenario.reasoning_tokens or 0},
                "total_tokens": scenario.total_tokens,
            }
        return {
            "id": "resp_fake1",
            "object": "response",
            "created_at": int(time.time()),
            "status": status,
            "model": model,
            "output": output,
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "usage": usage,
            "error": None,
            "incomplete_details": None,
        }

    def _response_events(self, model: str | None, scenario: Scenario) -> list[bytes]:
        events: list[dict[str, Any]] = []

        def add(event_type: str, **fields: Any) -> None:
            events.append({"type": event_type, "sequence_number": len(events), **fields})

        started = self._response(model, scenario, "in_progress", [])
        add("response.created", response=started)
        add("response.in_progress", response=started)
        [item] = self._output(scenario, "in_progress")
        add("response.output_item.added", output_index=0, item=item)
        [done] = self._output(scenario, "completed")
        if scenario.tool_call is not None:
            for piece in split_arguments(scenario.tool_call.arguments):
                add(
                    "response.function_call_arguments.delta",
                    item_id=item["id"],
                    output_index=0,
                    delta=piece,
                )
            add(
                "response.function_call_arguments.done",
                item_id=item["id"],
                output_index=0,
                name=done["name"],
                arguments=done["arguments"],
            )
        else:
            where = {"item_id": item["id"], "output_index": 0, "content_index": 0}
            empty = {"type": "output_text", "text": "", "annotations": []}
            add("response.content_part.added", **where, part=empty)
            for word in scenario.words():
                add("response.output_text.delta", **where, delta=word, logprobs=[])
            add("response.output_text.done", **where, text=scenario.text, logprobs=[])
            add("response.content_part.done", **where, part=done["content"][0])
        add("response.output_item.done", output_index=0, item=done)
        add("response.completed", response=self._response(model, scenario, "completed", [done]))
        return [sse(event, event["type"]) for event in events]


def _is_responses(body: Any) -> bool:
    return isinstance(body, dict) and "input" in body and "messages" not in body


def fake_vector(index: int, dimensions: int) -> list[float]:
    """Exactly representable in float32, so base64 round trips compare equal."""
    return [index + 1 + k * 0.125 for k in range(dimensions)]


def embedding_inputs(value: Any) -> int:
    """How many inputs `input` holds."""
    if isinstance(value, str) or (value and isinstance(value[0], int)):
        return 1
    return len(value)


def embeddings_answer(body: Any, model: str | None, scenario: Scenario) -> dict[str, Any]:
    dimensions = body.get("dimensions") or FAKE_EMBEDDING_DIMENSIONS
    as_base64 = body.get("encoding_format") == "base64"
    data = []
    for index in range(embedding_inputs(body["input"])):
        vector: Any = fake_vector(index, dimensions)
        if as_base64:
            vector = base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": vector})
    usage = {"prompt_tokens": scenario.prompt_tokens, "total_tokens": scenario.prompt_tokens}
    return {"object": "list", "data": data, "model": model, "usage": usage}


def _is_token_array(value: Any) -> bool:
    return (
        isinstance(value, list)
        and 0 < len(value) <= 8192
        and all(isinstance(t, int) and not isinstance(t, bool) and t >= 0 for t in value)
    )


def _input_problem(value: Any) -> str | None:
    if isinstance(value, str):
        return None if value else "'input' must not be empty."
    if not isinstance(value, list) or not value or len(value) > 2048:
        return "'input' must be a string or a non-empty array of at most 2048 items."
    if all(isinstance(item, str) and item for item in value):
        return None
    if _is_token_array(value) or all(_is_token_array(item) for item in value):
        return None
    return "'input' is not a string, strings, a token array or token arrays."


def embeddings_problem(request: web.Request, body: Any, *, azure: bool) -> str | None:
    """What is wrong with an embeddings request, as OpenAI (or Azure) would refuse it."""
    if request.content_type != "application/json":
        return "Content-Type must be application/json."
    if azure and not request.query.get("api-version"):
        return "Missing required query parameter 'api-version'."
    if not isinstance(body, dict):
        return "The body must be a JSON object."
    unknown = sorted(set(body) - EMBEDDING_FIELDS)
    if unknown:
        return f"Unrecognized request argument supplied: {unknown[0]}"
    if not azure and not isinstance(body.get("model"), str):
        return "'model' is required."
    if "input" not in body:
        return "'input' is required."
    problem = _input_problem(body["input"])
    if problem is not None:
        return problem
    if body.get("encoding_format", "float") not in {"float", "base64"}:
        return "'encoding_format' must be 'float' or 'base64'."
    dimensions = body.get("dimensions")
    if dimensions is not None and (
        not isinstance(dimensions, int) or isinstance(dimensions, bool) or dimensions < 1
    ):
        return "'dimensions' must be a positive integer."
    if "user" in body and not isinstance(body["user"], str):
        return "'user' must be a string."
    return None
