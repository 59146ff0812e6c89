"""The OpenAI Embeddings surface (`POST /v1/embeddings`): decode and check the client's body
into the canonical `EmbeddingsRequest`, relay the OpenAI `list` answer as it is.

`input` is a string, an array of strings, an array of token ids, or an array of token-id
arrays; OpenAI's documented limits apply (2048 inputs, 8192 tokens per input: counted for token
arrays, estimated at four characters per token for text). There is no streaming in this API,
so `stream: true` is refused; errors are OpenAI-shaped.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec
from starlette.types import Scope

from routerx.gateway import errors
from routerx.gateway.fronts.base import Canonical, OperationName, StreamEncoder
from routerx.gateway.fronts.chat import bearer_key
from routerx.gateway.request_parsing import FORBIDDEN_FIELDS
from routerx.providers.base import Completion, Embeddings
from routerx.wire.embeddings import (
    MAX_INPUT_TOKENS,
    MAX_INPUTS,
    MAX_TOKEN_ID,
    EmbeddingsBody,
    EmbeddingsRequest,
    estimate_text_tokens,
)

FIELDS = frozenset(EmbeddingsBody.__struct_fields__)
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
_TokenIds = list[Annotated[int, msgspec.Meta(ge=0, le=MAX_TOKEN_ID)]]
INPUT_SHAPES = (
    "`input` must be a string, an array of strings, an array of token ids, "
    "or an array of token-id arrays."
)


def _invalid(message: str, param: str = "input", code: str | None = None) -> errors.GatewayError:
    return errors.invalid_request(message, param, code)


def _text(value: str, param: str) -> str:
    if not value:
        raise _invalid("An input must not be an empty string.", param)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _invalid(
            "The input contains invalid Unicode (a lone surrogate).", param, "invalid_unicode"
        ) from None
    tokens = estimate_text_tokens(value)
    if tokens > MAX_INPUT_TOKENS:
        raise _invalid(
            f"An input may have at most {MAX_INPUT_TOKENS} tokens; this one has about {tokens}.",
            param,
            "input_too_long",
        )
    return value


def _token_ids(value: Any, param: str) -> tuple[int, ...]:
    if not isinstance(value, list):
        raise _invalid(INPUT_SHAPES, param)
    if not value:
        raise _invalid("A token array must not be empty.", param)
    if len(value) > MAX_INPUT_TOKENS:
        raise _invalid(
            f"An input may have at most {MAX_INPUT_TOKENS} tokens; this one has {len(value)}.",
            param,
            "input_too_long",
        )
    try:
        return tuple(msgspec.convert(value, _TokenIds, strict=True))
    except msgspec.ValidationError:
        raise _invalid(
            f"Token ids must be integers from 0 to {MAX_TOKEN_ID}.", param, "invalid_token"
        ) from None


def _inputs(value: str | list[Any]) -> tuple[tuple[str, ...], tuple[tuple[int, ...], ...]]:
    """(texts, token arrays): exactly one of them is non-empty."""
    if isinstance(value, str):
        return (_text(value, "input"),), ()
    if not value:
        raise _invalid("`input` must not be an empty array.")
    first = value[0]
    if isinstance(first, int) and not isinstance(first, bool):  # one input as token ids
        return (), (_token_ids(value, "input"),)
    if len(value) > MAX_INPUTS:
        raise _invalid(
            f"`input` may hold at most {MAX_INPUTS} inputs; it holds {len(value)}.",
            code="too_many_inputs",
        )
    if isinstance(first, str):
        texts = []
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise _invalid(INPUT_SHAPES, f"input[{index}]")
            texts.append(_text(item, f"input[{index}]"))
        return tuple(texts), ()
    if isinstance(first, list):
        return (), tuple(_token_ids(item, f"input[{index}]") for index, item in enumerate(value))
    raise _invalid(INPUT_SHAPES, "input[0]")


def decode_embeddings(raw: dict[str, Any]) -> Canonical:
    for name in FORBIDDEN_FIELDS:
        if name in raw:
            raise errors.invalid_request(
                f"`{name}` is not accepted: upstreams are chosen by the gateway's configuration.",
                name,
                "unsupported_parameter",
            )
    stream = raw.get("stream")
    if stream is not None and stream is not False:
        raise errors.invalid_request(
            "Embeddings are not streamed: `stream` is not part of the embeddings API.",
            "stream",
            "unsupported_parameter",
        )
    body = {key: value for key, value in raw.items() if key != "stream"}
    for name in body:
        if name not in FIELDS:
            raise errors.invalid_request(
                f"`{name[:100]}` is not a parameter of the embeddings API.",
                name[:100],
                "unsupported_parameter",
            )
    try:
        decoded = msgspec.convert(body, EmbeddingsBody)
    except msgspec.ValidationError as exc:
        raise errors.from_validation_error(exc) from None
    if _CONTROL_CHARACTERS.search(decoded.model):
        raise errors.invalid_request("`model` must not contain control characters.", "model")
    texts, token_ids = _inputs(decoded.input)
    request = EmbeddingsRequest(
        model=decoded.model,
        texts=texts,
        token_ids=token_ids,
        dimensions=decoded.dimensions,
        encoding_format=decoded.encoding_format,
        user=decoded.user,
    )
    return Canonical(request=request, raw=body, stream=False, requested_model=decoded.model)


class EmbeddingsFront:
    api = "embeddings"
    operation: OperationName = "embeddings"

    def api_key(self, scope: Scope) -> str | None:
        return bearer_key(scope)

    def decode(self, raw: dict[str, Any]) -> Canonical:
        return decode_embeddings(raw)

    def encode_completion(self, completion: Completion | Embeddings, canonical: Canonical) -> bytes:
        """Back adapters already answer an OpenAI `list` in the encoding the client asked for."""
        return completion.body

    def stream_encoder(self, canonical: Canonical, request_id: str) -> StreamEncoder:
        raise errors.invalid_request(
            "Embeddings are not streamed.", "stream", "unsupported_parameter"
        )

    def error_body(self, error: errors.GatewayError) -> tuple[int, bytes]:
        return error.status, error.body()
