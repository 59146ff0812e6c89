"""POST /v1/responses: the OpenAI Responses API as a front adapter.

Requests are translated to the canonical Chat Completions request (`request`), answers to the
Response object (`response`) and chunks to the Responses event stream (`stream`). The client's
body travels along as `Canonical.native`: OpenAI and Azure back adapters send it upstream as it
is, and their answers and events pass through unchanged. A request Chat Completions cannot carry
(state the upstream keeps, built-in tools) sets `Canonical.untranslatable`, so that only those
targets serve it.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from starlette.types import Scope

from routerx.gateway import errors
from routerx.gateway.errors import GatewayError
from routerx.gateway.fronts.base import Canonical, OperationName
from routerx.gateway.fronts.chat import bearer_key
from routerx.gateway.fronts.responses.request import NativeOnly, parse_request, translate
from routerx.gateway.fronts.responses.response import encode_response
from routerx.gateway.fronts.responses.stream import ResponsesStreamEncoder
from routerx.gateway.request_parsing import FORBIDDEN_FIELDS, validate
from routerx.providers.base import Completion
from routerx.wire.responses import ResponsesRequest

API = "responses"


class ResponsesFront:
    api = API
    operation: OperationName = "chat"

    def api_key(self, scope: Scope) -> str | None:
        return bearer_key(scope)

    def decode(self, raw: dict[str, Any]) -> Canonical:
        for name in FORBIDDEN_FIELDS:
            if name in raw:
                raise errors.invalid_request(
                    f"`{name}` is not accepted: upstreams are chosen by the gateway's "
                    "configuration.",
                    name,
                    "unsupported_parameter",
                )
        translation = translate(raw)
        native_only = translation.native_only
        try:
            chat = validate(translation.chat)
        except GatewayError as error:
            if not _names_file_part(translation.chat, error.param):
                error.param = _responses_param(error.param, translation.sources)
                raise
            # The canonical chat request takes no file parts: only a native target can serve
            # this, and the request without them is what routing and limits look at.
            param = _responses_param(error.param, translation.sources) or "input"
            native_only = native_only or NativeOnly(
                param.removesuffix(".type"),
                "is an `input_file`; the Chat Completions requests RouterX sends to providers "
                "take text and image parts only",
            )
            chat = validate(_without_file_parts(translation.chat))
        return Canonical(
            chat,
            translation.chat,
            translation.request.stream,
            chat.model,
            (API, raw),
            native_only.error() if native_only is not None else None,
        )

    def encode_completion(self, completion: Completion, canonical: Canonical) -> bytes:
        if completion.api == API:  # the upstream's own Response object
            return completion.body
        return encode_response(completion.body, _request_of(canonical), _id_of(completion))

    def stream_encoder(self, canonical: Canonical, request_id: str) -> ResponsesStreamEncoder:
        return ResponsesStreamEncoder(_request_of(canonical), request_id)

    def error_body(self, error: GatewayError) -> tuple[int, bytes]:
        return error.status, error.body()


def _native_body(canonical: Canonical) -> dict[str, Any]:
    if canonical.native is None or canonical.native[0] != API:
        raise ValueError("not a Responses request")
    return canonical.native[1]


def _request_of(canonical: Canonical) -> ResponsesRequest:
    return parse_request(_native_body(canonical))


class _CompletionId(msgspec.Struct):
    id: str = ""


def _id_of(completion: Completion) -> str:
    """The Response id follows the chat.completion id, so that both name the same answer."""
    completion_id = msgspec.json.decode(completion.body, type=_CompletionId).id
    return completion_id.removeprefix("chatcmpl-") or "answer"


_PART = re.compile(r"^messages\[(\d+)\]\.content\[(\d+)\]")


def _names_file_part(chat: dict[str, Any], param: str | None) -> bool:
    match = _PART.match(param or "")
    if match is None:
        return False
    message, part = int(match.group(1)), int(match.group(2))
    try:
        return chat["messages"][message]["content"][part]["type"] == "file"  # type: ignore[no-any-return]
    except (IndexError, KeyError, TypeError):
        return False


def _without_file_parts(chat: dict[str, Any]) -> dict[str, Any]:
    messages = []
    for message in chat["messages"]:
        content = message.get("content")
        if isinstance(content, list):
            kept = [part for part in content if part.get("type") != "file"]
            messages.append({**message, "content": kept or ""})
        else:
            messages.append(message)
    return {**chat, "messages": messages}


def _responses_param(param: str | None, sources: list[str]) -> str | None:
    """`messages[3].content[1].image_url` -> the input item it came from, `input[2]...`."""
    if param is None or not param.startswith("messages["):
        return param
    index_text, _, rest = param[len("messages[") :].partition("]")
    if not index_text.isdigit() or int(index_text) >= len(sources):
        return param
    return sources[int(index_text)] + rest
