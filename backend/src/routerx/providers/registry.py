"""Provider types to adapters. With ENABLE_REAL_CALLS=false every provider is the mock."""

from __future__ import annotations

from collections.abc import Callable

from routerx.providers.base import Provider, ProviderConfig
from routerx.providers.mock import MockProvider

AdapterFactory = Callable[[ProviderConfig], Provider]

ADAPTERS: dict[str, AdapterFactory] = {
    "mock": MockProvider,
}


class UnknownProviderType(ValueError):
    pass


def provider_types() -> list[str]:
    return sorted(ADAPTERS)


def build_provider(config: ProviderConfig, *, real_calls: bool) -> Provider:
    if not real_calls:
        return MockProvider(config)
    try:
        factory = ADAPTERS[config.type]
    except KeyError:
        raise UnknownProviderType(f"providers.{config.name}.type: unknown type {config.type!r}") from None
    return factory(config)
