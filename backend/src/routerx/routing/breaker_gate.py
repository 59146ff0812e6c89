"""Per-target circuit breakers for the fallback loop, configured from each provider's settings."""

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
    """One breaker per target (`PlannedTarget.breaker`: provider and upstream model), configured
    by its provider's settings; admit and record do no I/O. Without a key, the provider's own."""

    def __init__(self, registry: BreakerRegistry) -> None:
        self.registry = registry
        self._configs: dict[str, BreakerConfig] = {}

    def configure(self, providers: Mapping[str, ProviderConfig]) -> None:
        self._configs = {name: breaker_config_of(config) for name, config in providers.items()}

    def config(self, provider: ProviderConfig) -> BreakerConfig:
        return self._configs.get(provider.name, DEFAULT_CONFIG)

    def admit(self, provider: ProviderConfig, key: str | None = None) -> Admission:
        return self.registry.admit(key or provider.name, self.config(provider))

    def record(
        self,
        provider: ProviderConfig,
        admission: Admission | None,
        outcome: Outcome,
        retry_after_s: float | None = None,
        key: str | None = None,
    ) -> None:
        self.registry.record(
            key or provider.name,
            self.config(provider),
            outcome,
            retry_after_s,
            admission=admission,
        )

    def view(self, key: str) -> BreakerView | None:
        return self.registry.view(key)

    def of_provider(self, name: str) -> dict[str, BreakerView]:
        """The provider's breakers by model ("" for the provider-wide one)."""
        views = {}
        for key, view in self.registry.views().items():
            provider, _, model = key.partition("/")
            if provider == name:
                views[model] = view
        return views

    def worst_state(self, name: str) -> str:
        """Open over half-open over closed, of the provider's breakers."""
        states = {view.state.value for view in self.of_provider(name).values()}
        return next((s for s in ("open", "half_open") if s in states), "closed")

    async def reset(self, name: str) -> bool:
        """Close every breaker of the provider `name`."""
        keys = {name} | {f"{name}/{model}" for model in self.of_provider(name) if model}
        results = [await self.registry.reset(key) for key in sorted(keys)]
        return all(results)

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
