"""One adapter against its fake upstream, as the conformance and golden tests use them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import msgspec

from routerx.providers.base import Call, Completion, Provider, ProviderConfig, StreamStats, Timeouts
from routerx.providers.http import HttpClient
from routerx.providers.registry import build_provider
from routerx.wire.openai import ChatCompletion, ChatCompletionChunk, ChatRequest
from tests.fakes.bedrock_server import ACCESS_KEY_ID, REGION, FakeBedrock
from tests.fakes.upstream import FakeUpstream, RecordedRequest
from tests.fakes.vertex_server import LOCATION, PROJECT, service_account_info

ADAPTERS = ("openai", "azure", "openai_compatible", "anthropic", "gemini")
# The cloud adapters join the conformance suite; their field mapping has its own tests.
CLOUD_ADAPTERS = ("bedrock", "vertex", "vertex_anthropic")
# Vertex serves Gemini and (for `claude...` ids) Anthropic models: one type, two wire formats.
VERTEX_SETTINGS = {"project": PROJECT, "location": LOCATION}
UPSTREAM_MODELS = {"vertex_anthropic": "claude-fake-1@20250101"}
SECRET = "sk-test-secret-not-real-0001"
UPSTREAM_MODEL = "fake-model-1"
# Adapters whose fake is reached with other than the type's default settings and secret form.
BEDROCK_SETTINGS = {"region": REGION}


def provider_type(adapter: str) -> str:
    return "vertex" if adapter.startswith("vertex") else adapter


def secret_for(adapter: str, secret: str | None, fake_url: str) -> str | None:
    """The adapter's secret in the form its type takes: Bedrock's is a key pair whose secret
    access key is `secret` (the fake knows SECRET's, so any other fails its signature check)."""
    if secret is None or provider_type(adapter) not in {"bedrock", "vertex"}:
        return secret
    if provider_type(adapter) == "vertex":  # `secret` only names the key: the fake knows its pair
        return json.dumps(service_account_info(fake_url, key_id=secret))
    access = secret if secret != SECRET else FakeBedrock.secret_access_key
    return json.dumps({"access_key_id": ACCESS_KEY_ID, "secret_access_key": access})


def default_settings(adapter: str) -> dict[str, Any]:
    if adapter == "bedrock":
        return dict(BEDROCK_SETTINGS)
    return dict(VERTEX_SETTINGS) if provider_type(adapter) == "vertex" else {}


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
        type=provider_type(adapter),
        base_url=base_url(adapter, fake_url),
        capabilities=frozenset({"text", "vision", "tools", "json"}),
        settings={**default_settings(adapter), **(settings or {})},
        timeouts=timeouts or Timeouts(connect_s=2, total_s=5),
        secret=secret_for(adapter, secret, fake_url),
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

    @property
    def upstream_model(self) -> str:
        return UPSTREAM_MODELS.get(self.adapter, UPSTREAM_MODEL)

    async def complete(self, raw: dict[str, Any]) -> tuple[Completion, ChatCompletion]:
        completion = await self.provider.complete(make_call(raw, self.upstream_model))
        return completion, msgspec.json.decode(completion.body, type=ChatCompletion)

    async def stream(self, raw: dict[str, Any]) -> tuple[StreamStats, list[ChatCompletionChunk]]:
        stats = StreamStats()
        call = make_call(raw, self.upstream_model)
        self.chunks = [chunk async for chunk in self.provider.stream(call, stats)]
        decoded = [msgspec.json.decode(c, type=ChatCompletionChunk) for c in self.chunks]
        return stats, decoded


def build_harness(adapter: str, fake: FakeUpstream, http: HttpClient, **config: Any) -> Harness:
    provider = build_provider(
        provider_config(adapter, fake.url, **config), real_calls=True, http=http
    )
    return Harness(adapter, fake, provider)
