"""What the catalog knows about one model."""

from __future__ import annotations

from decimal import Decimal

import msgspec


class Prices(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """USD per million tokens; `None` where the price is not known."""

    input: Decimal | None = None
    cached_input: Decimal | None = None  # cache reads (OpenAI cached, Anthropic cache hits)
    cache_write_5m: Decimal | None = None
    cache_write_1h: Decimal | None = None
    output: Decimal | None = None  # reasoning tokens are billed as output
    audio_input: Decimal | None = None  # where audio input has its own per-token price
    audio_output: Decimal | None = None
    image_input: Decimal | None = None  # where image input has its own per-token price


class PriceTier(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Prices that replace the base prices for the whole request once the prompt is larger.

    Empty prices mean the tier exists but its figures are not known: such a request has an
    unknown cost.
    """

    above_prompt_tokens: int
    prices: Prices


class ModelInfo(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    model: str
    provider: str
    kind: str = "chat"  # chat | embeddings
    context_window: int | None = None
    max_output: int | None = None
    prices: Prices = Prices()
    tiers: tuple[PriceTier, ...] = ()
    aliases: tuple[str, ...] = ()
    source: str = ""
    limits_source: str | None = None
    checked: str = ""  # ISO date the figures were last checked
    notes: str = ""

    def prices_for(self, prompt_tokens: int) -> Prices:
        """The prices that apply to a request with this many prompt tokens."""
        chosen = self.prices
        for tier in self.tiers:
            if prompt_tokens > tier.above_prompt_tokens:
                chosen = tier.prices
        return chosen
