"""Chat Completions (`/v1/chat/completions`): the identity front. The canonical request is the
client's own, answers and chunks pass through as bytes."""

from __future__ import annotations

from typing import Any

from starlette.types import Scope

from routerx.auth.api_keys import MAX_KEY_LENGTH
from routerx.gateway import errors
from routerx.gateway.asgi_io import header
from routerx.gateway.errors import GatewayError
from routerx.gateway.fronts.base import Canonical, OperationName
from routerx.gateway.request_parsing import validate
from routerx.gateway.sse import DONE, event, usage_only_chunk
from routerx.providers.base import Completion, StreamStats

BEARER = b"bearer "


def bearer_key(scope: Scope) -> str | None:
    """The key of an `Authorization: Bearer <key>` header (the OpenAI surfaces)."""
    value = header(scope, b"authorization")
    if value is None:
        return None
    if len(value) > MAX_KEY_LENGTH + len(BEARER) or value[:7].lower() != BEARER:
        raise errors.invalid_api_key()
    try:
        return value[7:].strip().decode("ascii")
    except UnicodeDecodeError:
        raise errors.invalid_api_key() from None


class ChatStreamEncoder:
    """SSE framing only. The usage-only chunk the gateway asks upstreams for is passed on only
    when the client asked for it (`stream_options.include_usage`)."""

    __slots__ = ("include_usage",)

    def __init__(self, include_usage: bool) -> None:
        self.include_usage = include_usage

    def start(self) -> bytes:
        return b""

    def chunk(self, chunk: bytes) -> bytes:
        if self.include_usage or usage_only_chunk(chunk) is None:
            return event(chunk)
        return b""

    def finish(self, stats: StreamStats) -> bytes:
        return DONE

    def error(self, error: GatewayError) -> bytes:
        return event(error.body()) + DONE


# Encoders hold no per-stream state: one for each include_usage, shared by every stream.
_ENCODERS = (ChatStreamEncoder(include_usage=False), ChatStreamEncoder(include_usage=True))


class ChatFront:
    api = "chat"
    operation: OperationName = "chat"

    def api_key(self, scope: Scope) -> str | None:
        return bearer_key(scope)

    def decode(self, raw: dict[str, Any]) -> Canonical:
        request = validate(raw)
        return Canonical(request, raw, request.stream, request.model)

    def encode_completion(self, completion: Completion, canonical: Canonical) -> bytes:
        return completion.body

    def stream_encoder(self, canonical: Canonical, request_id: str) -> ChatStreamEncoder:
        return _ENCODERS[canonical.chat.include_usage]

    def error_body(self, error: GatewayError) -> tuple[int, bytes]:
        return error.status, error.body()
