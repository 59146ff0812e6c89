"""One adapter against its fake upstream, as the conformance and golden tests use them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from routerx.providers.base import Call, Completion, Provider, ProviderConfig, StreamStats, Timeouts
from routerx.providers.http import HttpClient
from routerx.providers.registry import build_provider
from routerx.wire.openai import ChatCompletion, ChatCompletionChunk, ChatRequest
from tests.fakes.upstream import FakeUpstream, RecordedRequest

ADAPTERS = ("openai", "azure", "openai_compatible", "anthropic", "gemini")
SECRET = "sk-test-secret-not-real-0001"
UPSTREAM_MODEL = "fake-model-1"


def base_url(adapter: str, fake_url: str) -> str:
    return f"{fake_url}/v1" if adapter in {"openai", "openai_compatible"} else fake_url


def provider_config(
    adapter: str,
    fake_url: str,
    *,
    secret: str | None = SECRET,
    timeouts: Timeouts | None = None,
    settings: dict[str, Any] | None = None,
) -> ProviderConfig:
    return ProviderConfig(
        id=1,
        name=f"test-{adapter}",
        type=adapter,
        base_url=base_url(adapter, fake_url),
        capabilities=frozenset({"text", "vision", "tools", "json"}),
        settings=settings or {},
        timeouts=timeouts or Timeouts(connect_s=2, total_s=5),
        secret=secret,
    )


def make_call(raw: dict[str, Any], upstream_model: str = UPSTREAM_MODEL) -> Call:
    return Call(msgspec.convert(raw, ChatRequest), raw, upstream_model, "req-test-1")


@dataclass
class Harness:
    adapter: str
    fake: FakeUpstream
    provider: Provider
    chunks: list[bytes] = field(default_factory=list)

    @property
    def sent(self) -> RecordedRequest:
        assert self.fake.requests, "the fake upstream received no request"
        return self.fake.requests[-1]

    async def complete(self, raw: dict[str, Any]) -> tuple[Completion, ChatCompletion]:
        completion = await self.provider.complete(make_call(raw))
        return completion, msgspec.json.decode(completion.body, type=ChatCompletion)

    async def stream(self, raw: dict[str, Any]) -> tuple[StreamStats, list[ChatCompletionChunk]]:
        stats = StreamStats()
        self.chunks = [chunk async for chunk in self.provider.stream(make_call(raw), stats)]
        decoded = [msgspec.json.decode(c, type=ChatCompletionChunk) for c in self.chunks]
        return stats, decoded


def build_harness(adapter: str, fake: FakeUpstream, http: HttpClient, **config: Any) -> Harness:
    provider = build_provider(
        provider_config(adapter, fake.url, **config), real_calls=True, http=http
    )
    return Harness(adapter, fake, provider)
