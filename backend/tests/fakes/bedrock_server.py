"""A fake Bedrock Runtime: `POST /model/{modelId}/converse` and `/converse-stream`.

Every request must carry a valid SigV4 signature (service `bedrock`, the fake's region), which
the fake recomputes with botocore's own signer from the request as it arrived (method, raw path,
signed headers, body); a bad one gets AWS's 403 InvalidSignatureException, an unknown key id
403 UnrecognizedClientException. Streams are the binary `application/vnd.amazon.eventstream`
framing (prelude, headers, payload, CRC32s), one message per ConverseStream event. Bodies are
checked against the Converse schema (https://docs.aws.amazon.com/bedrock/latest/APIReference/
API_runtime_Converse.html): unknown fields, role order, block kinds, image formats.
"""

from __future__ import annotations

import asyncio
import binascii
import hmac
import json
import re
import struct
from typing import Any

from aiohttp import web
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

from tests.fakes.upstream import HANG_S, FakeUpstream, Scenario, _reset, is_base64, split_arguments

REGION = "us-east-1"
ACCESS_KEY_ID = "AKIAFAKEROUTERX00001"
EVENT_STREAM = "application/vnd.amazon.eventstream"
TOP_LEVEL_KEYS = frozenset(
    {
        "messages",
        "system",
        "inferenceConfig",
        "toolConfig",
        "guardrailConfig",
        "additionalModelRequestFields",
        "additionalModelResponseFieldPaths",
        "promptVariables",
        "requestMetadata",
        "performanceConfig",
    }
)
INFERENCE_KEYS = frozenset({"maxTokens", "temperature", "topP", "stopSequences"})
BLOCK_KEYS = frozenset(
    {
        "text",
        "image",
        "document",
        "video",
        "toolUse",
        "toolResult",
        "guardContent",
        "reasoningContent",
        "cachePoint",
    }
)
IMAGE_FORMATS = frozenset({"png", "jpeg", "gif", "webp"})
ERROR_TYPES = {
    400: "ValidationException",
    401: "UnrecognizedClientException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    408: "ModelTimeoutException",
    424: "ModelErrorException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request, SignedHeaders=(?P<signed>[a-z0-9;-]+), "
    r"Signature=(?P<signature>[0-9a-f]{64})$"
)


def event_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message: prelude (total and header lengths, CRC), string headers
    (type 7), payload, CRC32 of everything before it."""
    encoded = b"".join(
        bytes([len(name)])
        + name.encode()
        + b"\x07"
        + struct.pack(">H", len(value))
        + value.encode()
        for name, value in headers.items()
    )
    prelude = struct.pack(">II", 12 + len(encoded) + len(payload) + 4, len(encoded))
    message = prelude + struct.pack(">I", binascii.crc32(prelude)) + encoded + payload
    return message + struct.pack(">I", binascii.crc32(message))


def event(event_type: str, payload: dict[str, Any]) -> bytes:
    # Bedrock pads event payloads with a `p` field of random length; readers must ignore it.
    body = json.dumps({**payload, "p": "abcdefgh"}).encode()
    headers = {":event-type": event_type, ":content-type": "application/json"}
    return event_message({**headers, ":message-type": "event"}, body)


def exception(exception_type: str, message: str) -> bytes:
    headers = {
        ":exception-type": exception_type,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return event_message(headers, json.dumps({"message": message}).encode())


def _block_problem(block: Any, where: str) -> str | None:
    keys = BLOCK_KEYS.intersection(block) if isinstance(block, dict) else set()
    if len(keys) != 1 or len(block) != 1:
        return f"{where}: a content block holds exactly one member"
    image = block.get("image")
    if image is not None:
        source = image.get("source") if isinstance(image, dict) else None
        if image.get("format") not in IMAGE_FORMATS or not isinstance(source, dict):
            return f"{where}.image: expected format and source"
        if not is_base64(source.get("bytes")):
            return f"{where}.image.source.bytes: expected base64 bytes"
    document = block.get("document")
    if document is not None and (
        document.get("format") != "pdf"
        or not re.fullmatch(r"[A-Za-z0-9\-()\[\] ]{1,200}", document.get("name") or "")
        or not is_base64((document.get("source") or {}).get("bytes"))
    ):
        return f"{where}.document: expected format pdf, a plain name and base64 bytes"
    text = block.get("text")
    if "text" in block and (not isinstance(text, str) or not text):
        return f"{where}.text: must be a non-empty string"
    return None


class FakeBedrock(FakeUpstream):
    """Knows one key pair (ACCESS_KEY_ID and `secret_access_key`); `session_token`, when set,
    must come signed in X-Amz-Security-Token."""

    secret_access_key: str = "fake-secret-access-key"
    session_token: str | None = None
    signatures_checked: int = 0

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/model/{model}/converse", self.handle),
            web.post("/model/{model}/converse-stream", self.handle),
        ]

    def model_of(self, request: web.Request, body: Any) -> str | None:
        return request.match_info.get("model")

    def is_stream(self, request: web.Request, body: Any) -> bool:
        return request.path.endswith("/converse-stream")

    def key_of(self, request: web.Request) -> str | None:
        match = _AUTHORIZATION.match(request.headers.get("authorization", ""))
        return match["key"] if match else None

    def reset(self) -> None:
        super().reset()
        self.session_token = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        problem = self.signature_problem(request, raw)
        if problem is not None:
            kind, message = problem
            return self._error(403, kind, message)
        return await super().handle(request)

    def signature_problem(self, request: web.Request, body: bytes) -> tuple[str, str] | None:
        match = _AUTHORIZATION.match(request.headers.get("authorization", ""))
        if match is None:
            return "MissingAuthenticationTokenException", "Missing Authentication Token"
        if match["key"] != ACCESS_KEY_ID:
            return "UnrecognizedClientException", "The security token included is invalid."
        if (match["service"], match["region"]) != ("bedrock", REGION):
            return "InvalidSignatureException", "Credential should be scoped to bedrock."
        signed = match["signed"].split(";")
        amz_date = request.headers.get("x-amz-date", "")
        if "host" not in signed or "x-amz-date" not in signed or amz_date[:8] != match["date"]:
            return "InvalidSignatureException", "host and x-amz-date must be signed."
        if self.session_token is not None and (
            "x-amz-security-token" not in signed
            or request.headers.get("x-amz-security-token") != self.session_token
        ):
            return "UnrecognizedClientException", "The security token included is invalid."
        headers = {name: request.headers.get(name, "") for name in signed}
        signed_request = AWSRequest(
            method=request.method,
            url=f"http://{request.host}{request.raw_path}",
            data=body,
            headers=headers,
        )
        signed_request.context["timestamp"] = amz_date
        signer = SigV4Auth(
            ReadOnlyCredentials(ACCESS_KEY_ID, self.secret_access_key, self.session_token),
            "bedrock",
            REGION,
        )
        canonical = signer.canonical_request(signed_request)
        expected = signer.signature(
            signer.string_to_sign(signed_request, canonical), signed_request
        )
        self.signatures_checked += 1
        if not hmac.compare_digest(expected, match["signature"]):
            return (
                "InvalidSignatureException",
                "The request signature we calculated does not match.",
            )
        return None

    @staticmethod
    def _error(
        status: int, kind: str, message: str, headers: dict[str, str] | None = None
    ) -> web.Response:
        return web.json_response(
            {"message": message},
            status=status,
            headers={
                "x-amzn-errortype": f"{kind}:http://internal.amazon.com/coral/",
                **(headers or {}),
            },
        )

    async def _serve(
        self, request: web.Request, body: Any, model: str | None, scenario: Scenario
    ) -> web.StreamResponse:
        if scenario.delay_s:
            await asyncio.sleep(scenario.delay_s)
        if scenario.reset_after_chunks == 0:
            return _reset(request)
        if self.expected_key is not None and self.key_of(request) != self.expected_key:
            return self._error(403, "UnrecognizedClientException", "The security token is invalid.")
        problem = self.problem(request, body)
        if problem is not None:
            self.refused.append(problem)
            return self._error(400, "ValidationException", problem)
        if scenario.status != 200:
            headers = {}
            if scenario.retry_after is not None:
                headers["retry-after"] = scenario.retry_after
            if scenario.retry_after_ms is not None:
                headers["retry-after-ms"] = scenario.retry_after_ms
            if scenario.body is not None:
                return web.json_response(scenario.body, status=scenario.status, headers=headers)
            kind = ERROR_TYPES.get(scenario.status, "InternalServerException")
            return self._error(scenario.status, kind, f"Fake {kind}.", headers)
        if not self.is_stream(request, body):
            if scenario.hang:
                await asyncio.sleep(HANG_S)
            answer = (
                scenario.body if scenario.body is not None else self.answer(body, model, scenario)
            )
            return web.json_response(answer)
        return await self._event_stream(request, body, model, scenario)

    async def _event_stream(
        self, request: web.Request, body: Any, model: str | None, scenario: Scenario
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"content-type": EVENT_STREAM})
        await response.prepare(request)
        if scenario.hang:
            await asyncio.sleep(HANG_S)
        frames = (
            scenario.frames
            if scenario.frames is not None
            else self.stream_frames(body, model, scenario)
        )
        for sent, frame in enumerate(frames):
            if sent == scenario.stall_after_chunks:
                await asyncio.sleep(HANG_S)
            if sent == scenario.reset_after_chunks:
                return _reset(request, response)
            if sent == scenario.error_after_chunks:
                await response.write(self.error_frame())
                break
            if scenario.chunk_delay_s and sent:
                await asyncio.sleep(scenario.chunk_delay_s)
            await response.write(frame)
        await response.write_eof()
        return response

    def problem(self, request: web.Request, body: Any) -> str | None:
        if not isinstance(body, dict):
            return "The body must be a JSON object."
        for key in body:
            if key not in TOP_LEVEL_KEYS:
                return f"Malformed input request: extraneous key [{key}] is not permitted"
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return "messages: at least one message is required"
        uses_tools = False
        for index, message in enumerate(messages):
            role = message.get("role") if isinstance(message, dict) else None
            if role != ("user" if index % 2 == 0 else "assistant"):
                return "A conversation must alternate between user and assistant roles."
            content = message.get("content")
            if not isinstance(content, list) or not content:
                return f"messages.{index}.content: must not be empty"
            for block_index, block in enumerate(content):
                problem = _block_problem(block, f"messages.{index}.content.{block_index}")
                if problem is not None:
                    return problem
                uses_tools = uses_tools or "toolUse" in block or "toolResult" in block
        for block in body.get("system") or []:
            if not isinstance(block, dict) or set(block) - {"text", "guardContent", "cachePoint"}:
                return "system: expected text blocks"
        inference = body.get("inferenceConfig", {})
        if not isinstance(inference, dict) or set(inference) - INFERENCE_KEYS:
            return "inferenceConfig: unknown key"
        return self._tool_config_problem(body.get("toolConfig"), uses_tools)

    @staticmethod
    def _tool_config_problem(config: Any, uses_tools: bool) -> str | None:
        if config is None:
            return (
                "toolConfig must be defined when toolUse or toolResult is used"
                if uses_tools
                else None
            )
        tools = config.get("tools") if isinstance(config, dict) else None
        if not isinstance(tools, list) or not tools:
            return "toolConfig.tools: at least one tool is required"
        for tool in tools:
            spec = tool.get("toolSpec") if isinstance(tool, dict) else None
            schema = (spec or {}).get("inputSchema")
            if not isinstance(spec, dict) or not spec.get("name") or not isinstance(schema, dict):
                return "toolConfig.tools: expected toolSpec with name and inputSchema"
            if set(schema) != {"json"}:
                return "toolSpec.inputSchema: expected exactly json"
        choice = config.get("toolChoice")
        if choice is not None and (
            not isinstance(choice, dict)
            or len(choice) != 1
            or set(choice) - {"auto", "any", "tool"}
        ):
            return "toolConfig.toolChoice: expected one of auto, any, tool"
        return None

    def invalid_body(self, message: str) -> dict[str, Any]:
        return {"message": message}

    @staticmethod
    def _usage(scenario: Scenario) -> dict[str, int]:
        """Bedrock's inputTokens leave out the cache reads and writes, counted apart."""
        read = scenario.cached_tokens or 0
        written = scenario.cache_creation_tokens or 0
        usage = {
            "inputTokens": scenario.prompt_tokens - read - written,
            "outputTokens": scenario.completion_tokens,
            "totalTokens": scenario.total_tokens,
        }
        if scenario.cached_tokens is not None or scenario.cache_creation_tokens is not None:
            usage["cacheReadInputTokens"] = read
            usage["cacheWriteInputTokens"] = written
        return usage

    @staticmethod
    def _stop_reason(scenario: Scenario) -> str:
        return "tool_use" if scenario.tool_call is not None else "end_turn"

    def answer(self, body: Any, model: str | None, scenario: Scenario) -> dict[str, Any]:
        if scenario.tool_call is None:
            content: list[dict[str, Any]] = [{"text": scenario.text}]
        else:
            call = scenario.tool_call
            content = [
                {"toolUse": {"toolUseId": call.id, "name": call.name, "input": call.arguments}}
            ]
        return {
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": self._stop_reason(scenario),
            "usage": self._usage(scenario),
            "metrics": {"latencyMs": 42},
        }

    def stream_frames(self, body: Any, model: str | None, scenario: Scenario) -> list[bytes]:
        frames = [event("messageStart", {"role": "assistant"})]
        if scenario.tool_call is None:
            frames += [
                event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": word}})
                for word in scenario.words()
            ]
        else:
            call = scenario.tool_call
            start = {"toolUse": {"toolUseId": call.id, "name": call.name}}
            frames.append(event("contentBlockStart", {"contentBlockIndex": 0, "start": start}))
            frames += [
                event(
                    "contentBlockDelta",
                    {"contentBlockIndex": 0, "delta": {"toolUse": {"input": piece}}},
                )
                for piece in split_arguments(call.arguments)
            ]
        frames.append(event("contentBlockStop", {"contentBlockIndex": 0}))
        frames.append(event("messageStop", {"stopReason": self._stop_reason(scenario)}))
        frames.append(
            event("metadata", {"usage": self._usage(scenario), "metrics": {"latencyMs": 42}})
        )
        return frames

    def error_body(self, status: int) -> dict[str, Any]:
        return {"message": f"Fake {ERROR_TYPES.get(status, 'InternalServerException')}."}

    def error_frame(self) -> bytes:
        return exception("modelStreamErrorException", "Fake model stream error.")
