"""A model's prices compiled to integer picodollars per token, for the hot path."""

from __future__ import annotations

from dataclasses import dataclass

from routerx.catalog import ModelInfo, Prices
from routerx.spend.money import rate_from_price


@dataclass(frozen=True, slots=True)
class Rates:
    """Picodollars per token; None where the price is not known."""

    input: int | None
    cached_input: int | None
    cache_write_5m: int | None
    cache_write_1h: int | None
    output: int | None
    audio_input: int | None
    audio_output: int | None

    @classmethod
    def of(cls, prices: Prices) -> Rates:
        return cls(
            rate_from_price(prices.input),
            rate_from_price(prices.cached_input),
            rate_from_price(prices.cache_write_5m),
            rate_from_price(prices.cache_write_1h),
            rate_from_price(prices.output),
            rate_from_price(prices.audio_input),
            rate_from_price(prices.audio_output),
        )


@dataclass(frozen=True, slots=True)
class ModelRates:
    """Base rates plus the tiers that replace them above a prompt size (ascending)."""

    base: Rates
    tiers: tuple[tuple[int, Rates], ...] = ()
    max_output: int | None = None
    source: str = "catalog"  # catalog | override | table
    name: str = ""  # the priced model's own name (a bounded label, unlike a client's)

    @classmethod
    def of(cls, info: ModelInfo, source: str = "catalog") -> ModelRates:
        tiers = tuple(
            sorted((tier.above_prompt_tokens, Rates.of(tier.prices)) for tier in info.tiers)
        )
        return cls(Rates.of(info.prices), tiers, info.max_output, source, info.model)

    def for_prompt(self, prompt_tokens: int) -> Rates:
        chosen = self.base
        for threshold, rates in self.tiers:
            if prompt_tokens > threshold:
                chosen = rates
        return chosen
