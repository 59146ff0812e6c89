"""OpenAI Embeddings wire types (`POST /v1/embeddings`), decoded and encoded with msgspec.

`EmbeddingsBody` is the client's JSON as it arrives; `EmbeddingsRequest` is the checked,
canonical request the back adapters embed: the inputs as texts or as token arrays, never mixed.
Vectors travel as JSON floats, or as base64 of little-endian float32 bytes when the client asks
for `encoding_format: "base64"` (what the official OpenAI SDKs ask for by default).
"""

from __future__ import annotations

import base64
import struct
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

from routerx.wire.openai import Usage
from routerx.wire.tokens import CHARS_PER_TOKEN

# OpenAI's documented limits: at most 2048 inputs per request, 8192 tokens per input.
MAX_INPUTS = 2048
MAX_INPUT_TOKENS = 8192
MAX_DIMENSIONS = 65_536
MAX_TOKEN_ID = 2**31 - 1

EncodingFormat = Literal["float", "base64"]


class EmbeddingsBody(Struct, forbid_unknown_fields=True):
    """The client's body; `input` is checked item by item into an `EmbeddingsRequest`."""

    model: Annotated[str, Meta(min_length=1, max_length=200)]
    input: str | list[Any]
    dimensions: Annotated[int, Meta(ge=1, le=MAX_DIMENSIONS)] | None = None
    encoding_format: EncodingFormat = "float"
    user: str | None = None


@dataclass(frozen=True, slots=True)
class EmbeddingsRequest:
    """Exactly one of `texts` and `token_ids` holds the inputs, in the client's order."""

    model: str
    texts: tuple[str, ...] = ()
    token_ids: tuple[tuple[int, ...], ...] = ()
    dimensions: int | None = None
    encoding_format: EncodingFormat = "float"
    user: str | None = None

    @property
    def count(self) -> int:
        return len(self.texts) or len(self.token_ids)

    def input_tokens(self) -> list[int]:
        """Tokens per input: exact for token arrays, estimated for text."""
        if self.token_ids:
            return [len(ids) for ids in self.token_ids]
        return [estimate_text_tokens(text) for text in self.texts]

    def usage_estimate(self) -> Usage:
        total = sum(self.input_tokens())
        return Usage(prompt_tokens=total, completion_tokens=0, total_tokens=total)


def estimate_text_tokens(text: str) -> int:
    return len(text) // CHARS_PER_TOKEN + 1


class Embedding(Struct, kw_only=True):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str


class EmbeddingsUsage(Struct):
    prompt_tokens: int = 0
    total_tokens: int = 0


class EmbeddingList(Struct, kw_only=True):
    object: Literal["list"] = "list"
    data: list[Embedding]
    model: str
    usage: EmbeddingsUsage


def encode_vector(values: list[float], encoding_format: EncodingFormat) -> list[float] | str:
    """A vector as the client asked for it: floats, or base64 of little-endian float32."""
    if encoding_format == "float":
        return values
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode("ascii")


def decode_base64_vector(encoded: str) -> list[float]:
    raw = base64.b64decode(encoded, validate=True)
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


def embedding_list_body(
    vectors: list[list[float]], request: EmbeddingsRequest, model: str, usage: Usage
) -> bytes:
    """The OpenAI `list` body for vectors an adapter computed or translated itself."""
    body = EmbeddingList(
        data=[
            Embedding(index=index, embedding=encode_vector(vector, request.encoding_format))
            for index, vector in enumerate(vectors)
        ],
        model=model,
        usage=EmbeddingsUsage(usage.prompt_tokens, usage.total_tokens),
    )
    return msgspec.json.encode(body)
