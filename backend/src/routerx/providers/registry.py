"""Provider types to adapters. With ENABLE_REAL_CALLS=false every provider is the mock.

Adapters are built once per configuration snapshot and share the process's `HttpClient`.
"""

from __future__ import annotations

from collections.abc import Callable

from routerx.providers.anthropic import AnthropicProvider
from routerx.providers.azure import AzureOpenAIProvider
from routerx.providers.base import Provider, ProviderConfig
from routerx.providers.bedrock import BedrockProvider
from routerx.providers.config_loader import ProviderConfigError
from routerx.providers.gemini import GeminiProvider
from routerx.providers.http import HttpClient
from routerx.providers.mock import MockProvider
from routerx.providers.openai import OpenAIProvider
from routerx.providers.openai_compat import OpenAICompatProvider
from routerx.providers.vertex import VertexProvider

AdapterFactory = Callable[[ProviderConfig, HttpClient], Provider]


def _mock(config: ProviderConfig, http: HttpClient) -> Provider:
    return MockProvider(config)


ADAPTERS: dict[str, AdapterFactory] = {
    "mock": _mock,
    "openai": OpenAIProvider,
    "azure": AzureOpenAIProvider,
    "openai_compatible": OpenAICompatProvider,
    "anthropic": AnthropicProvider,
    "gemini": GeminiProvider,
    "bedrock": BedrockProvider,
    "vertex": VertexProvider,
}


class UnknownProviderType(ProviderConfigError):
    pass


def provider_types() -> list[str]:
    return sorted(ADAPTERS)


def build_provider(
    config: ProviderConfig, *, real_calls: bool, http: HttpClient | None = None
) -> Provider:
    """The adapter for `config`; raises ProviderConfigError (naming the config path).

    `http` is the process's shared client; only the mock (real_calls false) can do without."""
    if not real_calls:
        return MockProvider(config)
    if http is None:
        raise ValueError("build_provider: real calls need the shared HttpClient")
    try:
        factory = ADAPTERS[config.type]
    except KeyError:
        raise UnknownProviderType(
            f"providers.{config.name}.type: unknown type {config.type!r}"
        ) from None
    return factory(config, http)
