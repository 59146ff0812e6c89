"""Builds a ConfigSnapshot from the database, and keeps it fresh in a running gateway."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from routerx.core.snapshot import (
    ConfigSnapshot,
    KeyEntry,
    RuleEntry,
    Target,
    TenantEntry,
    group_tiers,
)
from routerx.providers.base import ProviderConfig
from routerx.settings import Settings
from routerx.storage.config_version import current_config_version
from routerx.storage.models import ApiKey, Provider, RoutingRule, Tenant
from routerx.storage.spend_loader import load_spend_config

log = logging.getLogger("routerx.snapshot")


def _provider_config(record: Provider, settings: Settings) -> ProviderConfig:
    from routerx.providers.config_loader import provider_config_from_record

    return provider_config_from_record(record, settings)


def _targets(raw: Any) -> list[Target]:
    targets = []
    for item in raw or []:
        targets.append(
            Target(
                provider=str(item["provider"]),
                model=item.get("model") or None,
                weight=max(1, int(item.get("weight", 1))),
                tier=max(0, int(item.get("tier", 0))),
            )
        )
    return targets


async def load_snapshot(settings: Settings) -> ConfigSnapshot:
    version = await current_config_version()
    tenants = {
        t.id: TenantEntry(
            id=t.id,
            name=t.name,
            active=t.status == "active",
            allowed_models=frozenset(t.allowed_models or []),
            rpm_limit=t.rpm_limit,
            tpm_limit=t.tpm_limit,
            max_concurrency=t.max_concurrency,
        )
        for t in await Tenant.all()
    }
    keys: dict[str, KeyEntry] = {}
    for key in await ApiKey.filter(status="active"):
        tenant = tenants.get(key.tenant_id)
        if tenant is not None and tenant.active:
            expires_at = key.expires_at.timestamp() if key.expires_at is not None else None
            keys[key.digest] = KeyEntry(
                key.id,
                tenant,
                key.rpm_limit,
                key.tpm_limit,
                max_concurrency=key.max_concurrency,
                expires_at=expires_at,
            )
    providers: dict[str, ProviderConfig] = {}
    for record in await Provider.filter(enabled=True):
        try:
            providers[record.name] = _provider_config(record, settings)
        except ValueError as exc:
            log.error("provider skipped: %s", exc)
    rules = tuple(
        RuleEntry(
            id=r.id,
            name=r.name,
            model_pattern=r.model_pattern,
            capability=r.capability,
            tenant_id=r.tenant_id,
            tiers=group_tiers(_targets(r.targets)),
            hedge_delay_ms=r.hedge_delay_ms,
            stream_rescue=r.stream_rescue,
            on_transient=r.on_transient,
            hedge_delay_auto=r.hedge_delay_auto,
            balancing=r.balancing,
        )
        for r in await RoutingRule.filter(enabled=True).order_by("id")
    )
    return ConfigSnapshot(
        version=version,
        keys_by_digest=keys,
        tenants=tenants,
        providers=providers,
        rules=rules,
        spend=await load_spend_config(),
    )


class SnapshotRefresher:
    """Polls the config version and reloads the snapshot when it moves.

    A database outage keeps the last snapshot in service; `healthy` and `last_ok` tell /readyz.
    """

    def __init__(
        self,
        settings: Settings,
        on_snapshot: Callable[[ConfigSnapshot], None],
        interval_s: float,
    ) -> None:
        self._settings = settings
        self._on_snapshot = on_snapshot
        self._interval_s = interval_s
        self._version: int | None = None
        self.healthy = False
        self.last_ok: float | None = None
        self.last_error: str | None = None

    async def refresh_once(self) -> bool:
        """Reload if the version moved. Returns True when a new snapshot was installed."""
        try:
            version = await current_config_version()
            changed = version != self._version
            if changed:
                snapshot = await load_snapshot(self._settings)
                self._on_snapshot(snapshot)
                self._version = snapshot.version
            self.healthy, self.last_ok, self.last_error = True, time.time(), None
            return changed
        except Exception as exc:
            if self.healthy or self.last_error is None:
                log.warning(
                    "configuration refresh failed, serving the last snapshot: %s",
                    type(exc).__name__,
                )
            self.healthy, self.last_error = False, type(exc).__name__
            return False

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            await self.refresh_once()
