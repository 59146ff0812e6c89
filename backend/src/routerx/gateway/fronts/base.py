"""The front-adapter contract: how an API surface decodes requests into the canonical model and
encodes answers, stream frames and errors in its own shape."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

from starlette.types import Scope

from routerx.gateway.errors import GatewayError
from routerx.providers.base import Completion, StreamStats
from routerx.wire.embeddings import EmbeddingsRequest
from routerx.wire.openai import ChatRequest


@dataclass(frozen=True, slots=True)
class Canonical:
    request: ChatRequest | EmbeddingsRequest
    raw: dict[str, Any]  # the canonical chat (or embeddings) dict sent to back adapters
    stream: bool
    requested_model: str
    # (api, client's original body) for back adapters that speak this API natively
    native: tuple[str, dict[str, Any]] | None = None


class StreamEncoder(Protocol):
    def start(self) -> bytes:
        """SSE bytes sent right after the 200 headers, before the first chunk."""
        ...

    def chunk(self, chunk: bytes) -> bytes:
        """One upstream OpenAI chunk (JSON bytes) -> zero or more SSE frames of this API."""
        ...

    def finish(self, stats: StreamStats) -> bytes:
        """Closing frames after the last chunk."""
        ...

    def error(self, error: GatewayError) -> bytes:
        """The in-stream error event of this API after the stream was committed."""
        ...


class FrontAdapter(Protocol):
    api: str  # "chat" | "responses" | "messages" | "embeddings": log row `api`, metric label
    operation: Literal["chat", "embeddings"]

    def api_key(self, scope: Scope) -> str | None:
        """The caller's key from this API's header(s); None when absent."""
        ...

    def decode(self, raw: dict[str, Any]) -> Canonical:
        """Validate the client's decoded JSON body into the canonical request; raises
        GatewayError for bad input."""
        ...

    def encode_completion(self, completion: Completion, canonical: Canonical) -> bytes:
        """The non-stream answer body in this API's shape."""
        ...

    def stream_encoder(self, canonical: Canonical, request_id: str) -> StreamEncoder: ...

    def error_body(self, error: GatewayError) -> tuple[int, bytes]:
        """This API's error envelope and status code for a gateway error."""
        ...
