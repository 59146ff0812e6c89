"""The Anthropic Messages API front: `POST /v1/messages` and `/v1/messages/count_tokens`."""

from __future__ import annotations

from typing import Any

from starlette.types import Scope

from routerx.auth.api_keys import MAX_KEY_LENGTH
from routerx.gateway import errors as gateway_errors
from routerx.gateway.asgi_io import header
from routerx.gateway.errors import GatewayError
from routerx.gateway.fronts.base import Canonical, OperationName
from routerx.gateway.fronts.messages import errors, response
from routerx.gateway.fronts.messages.request import (
    Translator,
    chat_body,
    chat_request,
    decode_request,
)
from routerx.gateway.fronts.messages.response import NATIVE_API
from routerx.gateway.fronts.messages.stream import MessagesStreamEncoder
from routerx.providers.base import Completion
from routerx.wire import anthropic as wire

BEARER = b"bearer "


def key_from_headers(scope: Scope) -> str | None:
    """`x-api-key`, as Anthropic's clients send it, else `Authorization: Bearer` (Claude Code
    with ANTHROPIC_AUTH_TOKEN). A malformed header is a 401."""
    value = header(scope, b"x-api-key")
    if value is None:
        authorization = header(scope, b"authorization")
        if authorization is None:
            return None
        if authorization[:7].lower() != BEARER:
            raise gateway_errors.invalid_api_key()
        value = authorization[7:]
    if len(value) > MAX_KEY_LENGTH + len(BEARER):
        raise gateway_errors.invalid_api_key()
    try:
        return value.strip().decode("ascii")
    except UnicodeDecodeError:
        raise gateway_errors.invalid_api_key() from None


class MessagesFront:
    api = "messages"
    operation: OperationName = "chat"

    def api_key(self, scope: Scope) -> str | None:
        return key_from_headers(scope)

    def decode(self, raw: dict[str, Any]) -> Canonical:
        request = decode_request(raw, wire.MessagesRequest)
        translator = Translator()
        body = chat_body(request, translator)
        return Canonical(
            request=chat_request(body, translator),
            raw=body,
            stream=request.stream,
            requested_model=request.model,
            native=(NATIVE_API, raw),
            untranslatable=translator.untranslatable,
        )

    def encode_completion(self, completion: Completion, canonical: Canonical) -> bytes:
        return response.encode_completion(completion, canonical)

    def stream_encoder(self, canonical: Canonical, request_id: str) -> MessagesStreamEncoder:
        return MessagesStreamEncoder(canonical, request_id)

    def error_body(self, error: GatewayError) -> tuple[int, bytes]:
        return errors.error_body(error)
