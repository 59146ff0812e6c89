"""The provider protocol: what every upstream adapter implements, and what it is given."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from routerx.wire.embeddings import EmbeddingsRequest
from routerx.wire.openai import ChatRequest, Usage

CAPABILITIES = ("text", "vision", "tools", "json", "audio", "files", "embeddings")
# Provider types whose adapter implements `EmbeddingProvider.embed`: only these may declare
# the `embeddings` capability (Anthropic has no embeddings API).
EMBEDDING_TYPES = frozenset({"mock", "openai", "azure", "openai_compatible", "gemini"})
# Capabilities a provider type cannot have, whatever its configuration says (Anthropic's
# Messages API has no audio input; Bedrock's Converse has neither audio nor a JSON mode).
UNSUPPORTED_CAPABILITIES: dict[str, frozenset[str]] = {
    "anthropic": frozenset({"audio"}),
    "bedrock": frozenset({"audio", "json"}),
}


@dataclass(frozen=True, slots=True)
class Timeouts:
    connect_s: float = 5.0
    first_token_s: float = 15.0  # interactive: a stalled stream fails over long before the deadline
    idle_s: float = 30.0
    total_s: float = 60.0  # UPSTREAM_TIMEOUT_S unless the provider sets its own


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    """One provider as the gateway's configuration snapshot holds it (secret decrypted)."""

    id: int
    name: str
    type: str
    base_url: str = ""
    model_map: dict[str, str] = field(default_factory=dict)
    capabilities: frozenset[str] = frozenset({"text"})
    enabled: bool = True
    settings: dict[str, Any] = field(default_factory=dict)
    timeouts: Timeouts = Timeouts()
    secret: str | None = field(default=None, repr=False)

    def upstream_model(self, public_model: str, rule_model: str | None = None) -> str:
        """Rule target model wins, then the provider's model map, then the public name."""
        if rule_model:
            return rule_model
        return self.model_map.get(public_model, self.model_map.get("*", public_model))


@dataclass(frozen=True, slots=True)
class Call:
    """One attempt at one provider. `raw` is the client's body, for pass-through fields.

    `native` is (api, the client's original body) when the client spoke another API than Chat
    Completions; an adapter that speaks that API natively may send the original instead of a
    translation, and then answers in that API (`Completion.api`, native stream frames)."""

    request: ChatRequest
    raw: dict[str, Any]
    upstream_model: str
    request_id: str
    native: tuple[str, dict[str, Any]] | None = None


@dataclass(slots=True)
class Completion:
    """A non-stream answer: an OpenAI `chat.completion` body plus what the log needs.
    `api` names the body's API: "chat", or the native API of `Call.native` when the adapter
    answered in it (the body is then that API's own answer, relayed as it came)."""

    body: bytes
    usage: Usage | None = None
    finish_reason: str | None = None
    api: str = "chat"


@dataclass(frozen=True, slots=True)
class EmbedCall:
    """One embeddings attempt at one provider. `raw` is the client's body, for pass-through."""

    request: EmbeddingsRequest
    raw: dict[str, Any]
    upstream_model: str
    request_id: str


@dataclass(slots=True)
class Embeddings:
    """An embeddings answer: an OpenAI `list` body (vectors in the encoding the client asked
    for) plus its usage; `usage.completion_tokens` is always 0."""

    body: bytes
    usage: Usage | None = None


@dataclass(slots=True)
class StreamStats:
    """Filled in by an adapter while it streams: what the log and the last chunk need."""

    usage: Usage | None = None
    finish_reason: str | None = None
    chunks: int = 0
    # True while the adapter already holds the next chunk (several arrived in one network
    # read): the gateway then sends them to the client together, one write instead of many.
    more_ready: bool = False
    # True once the chunk about to be yielded ends the answer (an OpenAI usage chunk after the
    # finish reason): the gateway then finishes the client's stream without waiting for the
    # upstream's own end (`[DONE]`).
    complete: bool = False


def takes_native(provider: object, native: tuple[str, dict[str, Any]] | None) -> bool:
    """True when the adapter answers `Call.native`'s API natively (its `native_apis`)."""
    return native is not None and native[0] in getattr(provider, "native_apis", ())


class Provider(Protocol):
    config: ProviderConfig

    async def complete(self, call: Call) -> Completion:
        """Answer without streaming. Raises UpstreamError."""
        ...

    def stream(self, call: Call, stats: StreamStats) -> AsyncGenerator[bytes, None]:
        """Yield OpenAI `chat.completion.chunk` JSON objects (no SSE framing), usage chunk
        included when the upstream reports one; or, when the adapter answers `Call.native` in
        its own API, that API's complete SSE frames (`event: ...`). Raises UpstreamError."""
        ...


@runtime_checkable
class EmbeddingProvider(Protocol):
    """An adapter that also serves embeddings. Only providers that declare the `embeddings`
    capability are routed embeddings requests; provider types without an embeddings API
    (Anthropic) do not implement this and may not declare the capability."""

    config: ProviderConfig

    async def embed(self, call: EmbedCall) -> Embeddings:
        """Embed every input of the call, in order. Raises UpstreamError."""
        ...
