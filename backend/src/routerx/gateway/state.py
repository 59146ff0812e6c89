"""Everything a gateway process holds while it runs, built once at startup."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from routerx.providers.base import Provider
from routerx.providers.registry import build_provider
from routerx.routing.fallback import BreakerGate, RetryPolicy
from routerx.settings import Settings
from routerx.storage.log_writer import RequestLogWriter
from routerx.storage.snapshot import ConfigSnapshot
from routerx.storage.snapshot_loader import SnapshotRefresher


@dataclass
class GatewayState:
    settings: Settings
    breakers: BreakerGate
    log_writer: RequestLogWriter
    retry_policy: RetryPolicy = field(default_factory=RetryPolicy)
    snapshot: ConfigSnapshot = field(default_factory=lambda: ConfigSnapshot(version=-1))
    providers: dict[str, Provider] = field(default_factory=dict)
    refresher: SnapshotRefresher | None = None
    rng: random.Random = field(default_factory=random.Random)
    loaded: bool = False

    def install(self, snapshot: ConfigSnapshot) -> None:
        """Swap in a new configuration; in-flight requests keep the objects they hold."""
        self.providers = {
            name: build_provider(config, real_calls=self.settings.enable_real_calls)
            for name, config in snapshot.providers.items()
        }
        self.snapshot = snapshot
        self.loaded = True
