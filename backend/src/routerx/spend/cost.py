"""The cost of one upstream answer from its usage details, in picodollars.

Prompt tokens are split into plain input, cache reads, cache writes (5-minute and 1-hour) and
audio; completion tokens (reasoning included, as every provider bills them) into text and
audio output. A count above zero whose price is unknown makes the whole cost unknown (None):
never a silent 0.
"""

from __future__ import annotations

from msgspec import UNSET

from routerx.spend.rates import ModelRates, Rates
from routerx.wire.openai import Usage


def _count(value: int | object | None) -> int:
    return value if isinstance(value, int) else 0


def _priced(tokens: int, rate: int | None) -> int | None:
    if tokens <= 0:
        return 0
    return None if rate is None else tokens * rate


def cost_of(usage: Usage, rates: ModelRates | None) -> int | None:
    if rates is None:
        return None
    prompt = usage.prompt_tokens
    tier = rates.for_prompt(prompt)
    cached = written = written_1h = audio_in = 0
    details = usage.prompt_tokens_details
    if details is not None and details is not UNSET:
        cached = _count(details.cached_tokens)
        written = _count(details.cache_creation_tokens)
        written_1h = min(written, _count(details.cache_creation_1h_tokens))
        audio_in = _count(details.audio_tokens) if tier.audio_input is not None else 0
    audio_out = 0
    completion = usage.completion_tokens
    out_details = usage.completion_tokens_details
    if out_details is not None and out_details is not UNSET and tier.audio_output is not None:
        audio_out = _count(out_details.audio_tokens)
    parts = (
        _priced(prompt - cached - written - audio_in, tier.input),
        _priced(cached, tier.cached_input),
        _priced(written - written_1h, tier.cache_write_5m),
        _priced(written_1h, tier.cache_write_1h),
        _priced(audio_in, tier.audio_input),
        _priced(completion - audio_out, tier.output),
        _priced(audio_out, tier.audio_output),
    )
    total = 0
    for part in parts:
        if part is None:
            return None
        total += part
    return total


def worst_case_cost(prompt_tokens: int, output_tokens: int, rates: ModelRates | None) -> int:
    """The most a request can cost: every prompt token at the dearest input price of its tier
    (a 1-hour cache write costs more than plain input) and every output token it may produce.
    0 when the price is unknown (nothing to reserve)."""
    if rates is None:
        return 0
    tier: Rates = rates.for_prompt(prompt_tokens)
    prompt_rate = max(tier.input or 0, tier.cache_write_5m or 0, tier.cache_write_1h or 0)
    return prompt_tokens * prompt_rate + output_tokens * (tier.output or 0)
