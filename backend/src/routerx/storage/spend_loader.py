"""Price overrides and budgets from the database, for the gateway's snapshot."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import msgspec

from routerx.catalog import ModelInfo, Prices, PriceTier
from routerx.spend.config import BudgetEntry, PriceEntry, SpendConfig
from routerx.storage.models import ApiKey, Budget, PriceOverride

log = logging.getLogger("routerx.snapshot")


def price_entry(record: PriceOverride) -> PriceEntry:
    info = ModelInfo(
        model=record.model,
        provider=record.provider,
        context_window=record.context_window,
        max_output=record.max_output,
        prices=msgspec.convert(record.prices or {}, Prices),
        tiers=tuple(msgspec.convert(tier, PriceTier) for tier in record.tiers or []),
        source=record.source or "override",
    )
    return PriceEntry(record.provider, record.model, info)


def budget_entry(record: Budget, tenant_of_key: dict[int, int]) -> BudgetEntry:
    tenant_id = (
        record.subject_id if record.scope == "tenant" else tenant_of_key.get(record.subject_id)
    )
    return BudgetEntry(
        scope=record.scope,
        subject_id=record.subject_id,
        amount_pico=record.amount_pico,
        period=record.period,
        thresholds=tuple(sorted(int(t) for t in record.thresholds or [])),
        action=record.action,
        downgrade_model=record.downgrade_model,
        webhook_url=record.webhook_url,
        tenant_id=tenant_id,
    )


async def load_spend_config() -> SpendConfig:
    prices: list[PriceEntry] = []
    for record in await PriceOverride.all():
        try:
            prices.append(price_entry(record))
        except (msgspec.ValidationError, ValueError) as exc:
            log.error("price override %s/%s skipped: %s", record.provider, record.model, exc)
    records = await Budget.all()
    key_ids = [r.subject_id for r in records if r.scope == "key"]
    tenant_of_key: dict[int, int] = {}
    if key_ids:
        rows: list[Any] = await ApiKey.filter(id__in=key_ids).values_list("id", "tenant_id")
        tenant_of_key = {int(key_id): int(tenant_id) for key_id, tenant_id in rows}
    budgets = {(r.scope, r.subject_id): budget_entry(r, tenant_of_key) for r in records}
    for where, entry in budgets.items():  # a key's alerts go to its tenant's URL by default
        tenant = budgets.get(("tenant", entry.tenant_id or 0))
        if entry.scope == "key" and entry.webhook_url is None and tenant is not None:
            budgets[where] = dataclasses.replace(entry, webhook_url=tenant.webhook_url)
    return SpendConfig(tuple(prices), budgets)
