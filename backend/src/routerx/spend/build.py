"""The gateway's spend service from its settings."""

from __future__ import annotations

from routerx.settings import Settings
from routerx.spend.service import SpendService
from routerx.spend.shared_store import RedisSpendStore
from routerx.spend.webhook import WebhookSender


def build_spend(settings: Settings) -> SpendService:
    store = (
        RedisSpendStore.from_url(settings.redis_url, key_prefix=settings.spend_redis_prefix)
        if settings.redis_url
        else None
    )
    return SpendService(
        store=store,
        webhook=WebhookSender(allowed_networks=settings.spend_webhook_allow_networks),
        webhook_url=settings.spend_webhook_url,
        sync_interval_s=settings.spend_sync_interval_s,
        persist_interval_s=settings.spend_persist_interval_s,
        default_output_tokens=settings.budget_default_output_tokens,
    )
