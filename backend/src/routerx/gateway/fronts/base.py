"""The contract between the pipeline and a front adapter (one API surface).

A front adapter finds the caller's key, decodes the client's body into the canonical request the
back adapters speak (an OpenAI Chat Completions request), and encodes answers, stream frames
and errors back into its own API's shape. Translators are pure: no I/O here or in any front.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

from starlette.types import Scope

from routerx.gateway.errors import GatewayError
from routerx.providers.base import Completion, StreamStats
from routerx.wire.embeddings import EmbeddingsRequest
from routerx.wire.openai import ChatRequest

OperationName = Literal["chat", "embeddings"]


@dataclass(frozen=True, slots=True)
class Canonical:
    """A decoded request as the back adapters take it."""

    request: ChatRequest | EmbeddingsRequest
    raw: dict[str, Any]  # the canonical dict sent to back adapters (pass-through fields)
    stream: bool
    requested_model: str
    # (api, the client's original body) for back adapters that speak that API natively
    native: tuple[str, dict[str, Any]] | None = None
    # What the translation could not carry (a 400 naming the field): raised for a target whose
    # adapter does not take `native`, so that only natively answered requests may use it.
    untranslatable: GatewayError | None = None

    @property
    def chat(self) -> ChatRequest:
        """The request of a chat operation (the typed seam between the two operations)."""
        if not isinstance(self.request, ChatRequest):
            raise TypeError("not a chat request")
        return self.request

    @property
    def embeddings(self) -> EmbeddingsRequest:
        """The request of an embeddings operation."""
        if not isinstance(self.request, EmbeddingsRequest):
            raise TypeError("not an embeddings request")
        return self.request


class StreamEncoder(Protocol):
    """One stream's frames in the front's API, from upstream OpenAI chunks (JSON bytes)."""

    def start(self) -> bytes:
        """SSE bytes sent right after the 200 headers, before the first chunk."""
        ...

    def chunk(self, chunk: bytes) -> bytes:
        """One upstream chunk -> zero or more SSE frames (b"" to send nothing)."""
        ...

    def finish(self, stats: StreamStats) -> bytes:
        """The closing frames after the last chunk."""
        ...

    def error(self, error: GatewayError) -> bytes:
        """The in-stream error event after the stream was committed; nothing follows it."""
        ...


class FrontAdapter(Protocol):
    api: str  # "chat" | "responses" | "messages" | "embeddings": log row `api`, metric label
    operation: OperationName

    def api_key(self, scope: Scope) -> str | None:
        """The caller's key from this API's header(s); None when absent. A malformed header
        raises GatewayError (401)."""
        ...

    def decode(self, raw: dict[str, Any]) -> Canonical:
        """Validate the JSON-decoded body and translate it into the canonical request.
        Raises GatewayError for bad input."""
        ...

    def encode_completion(self, completion: Completion, canonical: Canonical) -> bytes:
        """The non-stream answer body in this API's shape."""
        ...

    def stream_encoder(self, canonical: Canonical, request_id: str) -> StreamEncoder: ...

    def error_body(self, error: GatewayError) -> tuple[int, bytes]:
        """This API's status code and error envelope for a gateway error."""
        ...
