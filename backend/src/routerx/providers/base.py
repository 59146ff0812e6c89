"""The provider protocol: what every upstream adapter implements, and what it is given."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any, Protocol

from routerx.wire.openai import ChatRequest, Usage

CAPABILITIES = ("text", "vision", "tools", "json", "audio", "files")
# Capabilities a provider type cannot have, whatever its configuration says (Anthropic's
# Messages API has no audio input).
UNSUPPORTED_CAPABILITIES: dict[str, frozenset[str]] = {"anthropic": frozenset({"audio"})}


@dataclass(frozen=True, slots=True)
class Timeouts:
    connect_s: float = 10.0
    first_token_s: float = 60.0
    idle_s: float = 30.0
    total_s: float = 600.0


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
    """One attempt at one provider. `raw` is the client's body, for pass-through fields."""

    request: ChatRequest
    raw: dict[str, Any]
    upstream_model: str
    request_id: str


@dataclass(slots=True)
class Completion:
    """A non-stream answer: an OpenAI `chat.completion` body plus what the log needs."""

    body: bytes
    usage: Usage | None = None
    finish_reason: str | None = None


@dataclass(slots=True)
class StreamStats:
    """Filled in by an adapter while it streams: what the log and the last chunk need."""

    usage: Usage | None = None
    finish_reason: str | None = None
    chunks: int = 0
    # True while the adapter already holds the next chunk (several arrived in one network
    # read): the gateway then sends them to the client together, one write instead of many.
    more_ready: bool = False


class Provider(Protocol):
    config: ProviderConfig

    async def complete(self, call: Call) -> Completion:
        """Answer without streaming. Raises UpstreamError."""
        ...

    def stream(self, call: Call, stats: StreamStats) -> AsyncGenerator[bytes, None]:
        """Yield OpenAI `chat.completion.chunk` JSON objects (no SSE framing), usage chunk
        included when the upstream reports one. Raises UpstreamError."""
        ...
