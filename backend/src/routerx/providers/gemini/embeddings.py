"""OpenAI embeddings <-> Gemini `models/{model}:batchEmbedContents`. Pure translation, no I/O.

Each input becomes one `EmbedContentRequest` (`content.parts[].text`, `outputDimensionality`
for `dimensions`); the answer's `embeddings[].values` become an OpenAI `list` body in the
encoding the client asked for. Gemini reports no token counts for embeddings, so `usage` is
RouterX's estimate (about four characters per token). Gemini embeds text only: token-array
input is refused. A batch holds at most 100 requests, so larger inputs go in several batches.
"""

from __future__ import annotations

from typing import Any

import msgspec

from routerx.providers.errors import UpstreamError
from routerx.wire.embeddings import EmbeddingsRequest

MAX_BATCH = 100


class _ContentEmbedding(msgspec.Struct):
    values: list[float] = msgspec.field(default_factory=list)


class BatchEmbedContentsResponse(msgspec.Struct):
    embeddings: list[_ContentEmbedding] | None = None
    error: Any = None


decode_batch_response = msgspec.json.Decoder(BatchEmbedContentsResponse).decode


def text_only(request: EmbeddingsRequest, provider: str) -> None:
    if request.token_ids:
        raise UpstreamError(
            f"Provider {provider} (Gemini) embeds text only: send `input` as strings, "
            "not token arrays.",
            status=400,
        )


def batch_bodies(request: EmbeddingsRequest, model: str) -> list[bytes]:
    """One `batchEmbedContents` body per batch of at most MAX_BATCH inputs."""
    model_name = f"models/{model.removeprefix('models/')}"
    extra: dict[str, Any] = {}
    if request.dimensions is not None:
        extra["outputDimensionality"] = request.dimensions
    requests = [
        {"model": model_name, "content": {"parts": [{"text": text}]}, **extra}
        for text in request.texts
    ]
    return [
        msgspec.json.encode({"requests": requests[start : start + MAX_BATCH]})
        for start in range(0, len(requests), MAX_BATCH)
    ]
