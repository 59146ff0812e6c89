"""The gateway's in-memory view of its configuration, so the hot path never queries the DB."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from routerx.providers.base import ProviderConfig
from routerx.spend.config import SpendConfig

log = logging.getLogger("routerx.snapshot")


@dataclass(frozen=True, slots=True)
class TenantEntry:
    id: int
    name: str
    active: bool
    allowed_models: frozenset[str]
    rpm_limit: int | None = None
    tpm_limit: int | None = None
    max_concurrency: int | None = None


@dataclass(frozen=True, slots=True)
class KeyEntry:
    id: int
    tenant: TenantEntry
    rpm_limit: int | None = None
    tpm_limit: int | None = None
    max_concurrency: int | None = None
    expires_at: float | None = None  # Unix time from which the gateway refuses the key


@dataclass(frozen=True, slots=True)
class Target:
    provider: str
    model: str | None
    weight: int
    tier: int


@dataclass(frozen=True, slots=True)
class RuleEntry:
    id: int
    name: str
    model_pattern: str
    capability: str
    tenant_id: int | None
    tiers: tuple[tuple[Target, ...], ...]
    hedge_delay_ms: int | None = None
    stream_rescue: str = "error"  # "continue": a stream cut mid-answer is continued elsewhere
    # "retry_same": one more try at a target after a transient failure (routing.same_target);
    # configured rules default to it, an entry built in code to the bare loop.
    on_transient: str = "fail_over"
    hedge_delay_auto: bool = False
    balancing: str = "weighted"


@dataclass(frozen=True, slots=True)
class ConfigSnapshot:
    version: int
    keys_by_digest: dict[str, KeyEntry] = field(default_factory=dict)
    tenants: dict[int, TenantEntry] = field(default_factory=dict)
    providers: dict[str, ProviderConfig] = field(default_factory=dict)
    rules: tuple[RuleEntry, ...] = ()
    spend: SpendConfig = field(default_factory=SpendConfig)


def group_tiers(targets: list[Target]) -> tuple[tuple[Target, ...], ...]:
    tiers: dict[int, list[Target]] = {}
    for target in targets:
        tiers.setdefault(target.tier, []).append(target)
    return tuple(tuple(tiers[tier]) for tier in sorted(tiers))
