"""Everything a gateway process holds while it runs, built once at startup."""

from __future__ import annotations

import dataclasses
import logging
import random
from dataclasses import dataclass, field

from routerx.core.snapshot import ConfigSnapshot
from routerx.gateway.admission import BodyBudget
from routerx.limits import RateLimiter
from routerx.limits.concurrency import ConcurrencyLimiter
from routerx.providers.base import Provider
from routerx.providers.config_loader import ProviderConfigError
from routerx.providers.http import HttpClient
from routerx.providers.registry import build_provider
from routerx.routing.breaker_gate import ProviderBreakers
from routerx.routing.fallback import RetryPolicy
from routerx.routing.health import HealthChecker
from routerx.routing.latency import LatencyTracker
from routerx.settings import Settings
from routerx.spend.service import SpendService
from routerx.storage.log_writer import RequestLogWriter
from routerx.storage.snapshot_loader import SnapshotRefresher
from routerx.telemetry import metrics

log = logging.getLogger("routerx.gateway")


def _without_unbuilt_providers(
    snapshot: ConfigSnapshot, built: dict[str, Provider]
) -> ConfigSnapshot:
    if len(built) == len(snapshot.providers):
        return snapshot
    kept = {name: config for name, config in snapshot.providers.items() if name in built}
    return dataclasses.replace(snapshot, providers=kept)


@dataclass
class GatewayState:
    settings: Settings
    breakers: ProviderBreakers
    log_writer: RequestLogWriter
    limiter: RateLimiter
    retry_policy: RetryPolicy = field(default_factory=RetryPolicy)
    snapshot: ConfigSnapshot = field(default_factory=lambda: ConfigSnapshot(version=-1))
    providers: dict[str, Provider] = field(default_factory=dict)
    refresher: SnapshotRefresher | None = None
    http: HttpClient = field(default_factory=HttpClient)
    rng: random.Random = field(default_factory=random.Random)
    latency: LatencyTracker = field(default_factory=LatencyTracker)
    health: HealthChecker | None = None
    loaded: bool = False
    body_budget: BodyBudget = field(init=False)
    concurrency: ConcurrencyLimiter = field(default_factory=ConcurrencyLimiter)

    def __post_init__(self) -> None:
        self.body_budget = BodyBudget(self.settings.max_inflight_body_bytes)

    spend: SpendService = field(default_factory=SpendService)

    def install(self, snapshot: ConfigSnapshot) -> None:
        """Swap in a new configuration; in-flight requests keep the objects they hold."""
        providers: dict[str, Provider] = {}
        for name, config in snapshot.providers.items():
            try:
                providers[name] = build_provider(
                    config, real_calls=self.settings.enable_real_calls, http=self.http
                )
            except ProviderConfigError as error:
                log.error("provider %s left out of routing: %s", name, error)
        self.providers = providers
        snapshot = _without_unbuilt_providers(snapshot, providers)
        self.breakers.configure(snapshot.providers)
        for name in snapshot.providers:  # a series per provider from the start, not only
            views = self.breakers.of_provider(name)  # after its first transition
            state = max(
                (view.state.value for view in views.values()),
                key=metrics.BREAKER_STATE_VALUES.__getitem__,
                default="closed",
            )
            metrics.BREAKER_STATE.labels(name).set(metrics.BREAKER_STATE_VALUES[state])
        self.spend.install(snapshot)
        self.snapshot = snapshot
        self.loaded = True
        if self.health is not None:
            self.health.configure(providers)
