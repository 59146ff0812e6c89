"""Writing price overrides and loaded tables to the database (admin API and CLI)."""

from __future__ import annotations

from typing import Any

from routerx.catalog import ModelInfo
from routerx.spend.config import ANY_PROVIDER
from routerx.spend.price_file import prices_json
from routerx.storage.models import PriceOverride


async def save_price(provider: str, info: ModelInfo, source: str) -> PriceOverride:
    values: dict[str, Any] = {
        "prices": prices_json(info.prices),
        "tiers": [
            {"above_prompt_tokens": t.above_prompt_tokens, "prices": prices_json(t.prices)}
            for t in info.tiers
        ],
        "context_window": info.context_window,
        "max_output": info.max_output,
        "source": source[:300],
    }
    record = await PriceOverride.get_or_none(provider=provider, model=info.model)
    if record is None:
        return await PriceOverride.create(provider=provider, model=info.model, **values)
    record.update_from_dict(values)
    await record.save()
    return record


async def load_table(models: list[ModelInfo], source: str) -> int:
    """A price table for any provider: each model replaces its previous table entry."""
    for info in models:
        await save_price(ANY_PROVIDER, info, source)
    return len(models)
