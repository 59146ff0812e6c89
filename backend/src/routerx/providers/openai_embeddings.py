"""Embeddings for the OpenAI family (OpenAI, Azure OpenAI, OpenAI-compatible servers): the
request goes upstream as the client sent it, with `model` replaced; the answer is relayed as the
upstream's bytes. Pure translation, no I/O.

Only the vector count, the usage and the encoding of each vector are read, the vectors are not
parsed. A compatible server that answers floats to a request for base64 gets its vectors
encoded by RouterX, so that the client receives what it asked for.
"""

from __future__ import annotations

import msgspec

from routerx.providers.base import EmbedCall, Embeddings
from routerx.providers.http import answered_with_error, protocol_error
from routerx.wire.embeddings import EmbeddingList, EmbeddingsUsage, encode_vector
from routerx.wire.openai import Usage

# What an OpenAI embeddings request may carry upstream; `model` is set per target.
FORWARDED_FIELDS = ("input", "dimensions", "encoding_format", "user")


class _VectorView(msgspec.Struct):
    embedding: msgspec.Raw = msgspec.Raw(b"null")


class _ListView(msgspec.Struct):
    data: list[_VectorView] | None = None
    usage: EmbeddingsUsage | None = None
    error: msgspec.Raw | None = None


_decode_view = msgspec.json.Decoder(_ListView).decode
_decode_list = msgspec.json.Decoder(EmbeddingList).decode


def embeddings_upstream_body(call: EmbedCall) -> bytes:
    body = {key: call.raw[key] for key in FORWARDED_FIELDS if key in call.raw}
    body["model"] = call.upstream_model
    return msgspec.json.encode(body)


def embeddings_from_upstream(data: bytes, call: EmbedCall, provider: str) -> Embeddings:
    """Check an upstream `list` body and relay it; raises UpstreamError when it is not one."""
    try:
        view = _decode_view(data)
    except msgspec.DecodeError:
        raise protocol_error(provider) from None
    if view.error is not None:
        raise answered_with_error(provider)
    if view.data is None or len(view.data) != call.request.count:
        raise protocol_error(provider)
    if view.usage is not None:
        prompt = view.usage.prompt_tokens
        usage = Usage(prompt, 0, view.usage.total_tokens or prompt)
    else:
        usage = call.request.usage_estimate()
    if call.request.encoding_format == "base64" and any(
        not bytes(item.embedding).startswith(b'"') for item in view.data
    ):
        data = _as_base64(data, provider)
    return Embeddings(data, usage)


def _as_base64(data: bytes, provider: str) -> bytes:
    try:
        answer = _decode_list(data)
    except msgspec.DecodeError:
        raise protocol_error(provider) from None
    for item in answer.data:
        if isinstance(item.embedding, list):
            item.embedding = encode_vector(item.embedding, "base64")
    return msgspec.json.encode(answer)
