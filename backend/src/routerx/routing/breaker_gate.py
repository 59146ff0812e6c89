"""Per-provider circuit breakers for the fallback loop, configured from each provider's settings."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import msgspec

from routerx.providers.base import ProviderConfig
from routerx.routing.breaker import Admission, BreakerConfig, BreakerView, Outcome
from routerx.routing.breaker_registry import BreakerRegistry, TransitionCallback
from routerx.settings import Settings

log = logging.getLogger("routerx.breaker")
DEFAULT_CONFIG = BreakerConfig()


def breaker_config_of(provider: ProviderConfig) -> BreakerConfig:
    """`settings.breaker` of a provider; invalid values fall back to the defaults, loudly."""
    raw = provider.settings.get("breaker") or {}
    try:
        return msgspec.convert(raw, BreakerConfig)
    except (msgspec.ValidationError, ValueError) as error:
        log.error("providers.%s.settings.breaker: %s; using defaults", provider.name, error)
        return DEFAULT_CONFIG


class ProviderBreakers:
    """One breaker per provider, keyed by provider name; admit and record do no I/O."""

    def __init__(self, registry: BreakerRegistry) -> None:
        self.registry = registry
        self._configs: dict[str, BreakerConfig] = {}

    def configure(self, providers: Mapping[str, ProviderConfig]) -> None:
        self._configs = {name: breaker_config_of(config) for name, config in providers.items()}

    def config(self, provider: ProviderConfig) -> BreakerConfig:
        return self._configs.get(provider.name, DEFAULT_CONFIG)

    def admit(self, provider: ProviderConfig) -> Admission:
        return self.registry.admit(provider.name, self.config(provider))

    def record(
        self,
        provider: ProviderConfig,
        admission: Admission | None,
        outcome: Outcome,
        retry_after_s: float | None = None,
    ) -> None:
        self.registry.record(
            provider.name, self.config(provider), outcome, retry_after_s, admission=admission
        )

    def view(self, name: str) -> BreakerView | None:
        return self.registry.view(name)

    async def reset(self, name: str) -> bool:
        return await self.registry.reset(name)

    def status(self) -> str:
        return self.registry.shared_status

    async def start(self) -> None:
        await self.registry.start()

    async def stop(self) -> None:
        await self.registry.stop()


def build_breakers(
    settings: Settings, on_transition: TransitionCallback | None = None
) -> ProviderBreakers:
    registry = BreakerRegistry.from_redis_url(settings.redis_url, on_transition=on_transition)
    return ProviderBreakers(registry)
