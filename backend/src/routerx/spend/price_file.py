"""Price tables from a file: RouterX's own catalog format, or LiteLLM's price map.

LiteLLM's `model_prices_and_context_window.json` gives USD per token as JSON numbers; they
are read as their shortest decimal text (never as binary floats) and scaled to USD per
million tokens.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from routerx.catalog import ModelInfo, Prices, PriceTier
from routerx.catalog.table import parse_catalog

MILLION = Decimal(1_000_000)
_LITELLM_FIELDS = {
    "input_cost_per_token": "input",
    "cache_read_input_token_cost": "cached_input",
    "cache_creation_input_token_cost": "cache_write_5m",
    "cache_creation_input_token_cost_above_1hr": "cache_write_1h",
    "output_cost_per_token": "output",
    "input_cost_per_audio_token": "audio_input",
    "output_cost_per_audio_token": "audio_output",
}


class PriceFileError(ValueError):
    pass


def _per_million(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise PriceFileError(f"{where}: not a number")
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        raise PriceFileError(f"{where}: not a number") from None
    if number < 0:
        raise PriceFileError(f"{where}: negative price")
    return Decimal(f"{(number * MILLION).normalize():f}")  # 1E+1 -> 10


def _litellm_entry(name: str, entry: dict[str, Any]) -> ModelInfo | None:
    if not isinstance(entry, dict) or entry.get("mode") not in (
        None,
        "chat",
        "embedding",
        "completion",
        "responses",
    ):
        return None
    base: dict[str, Decimal] = {}
    tiers: dict[int, dict[str, Decimal]] = {}
    for key, value in entry.items():
        field = _LITELLM_FIELDS.get(key)
        if field is not None:
            base[field] = _per_million(value, f"{name}.{key}")
            continue
        if "_above_" in key and key.endswith("k_tokens"):
            stem, _, size = key.rpartition("_above_")
            tier_field = _LITELLM_FIELDS.get(stem)
            digits = size.removesuffix("k_tokens")
            if tier_field is not None and digits.isdigit():
                per = tiers.setdefault(int(digits) * 1000, {})
                per[tier_field] = _per_million(value, f"{name}.{key}")
    if "input" not in base and "output" not in base:
        return None
    tier_list = tuple(
        PriceTier(size, Prices(**{**base, **fields})) for size, fields in sorted(tiers.items())
    )
    max_input = entry.get("max_input_tokens")
    max_output = entry.get("max_output_tokens")
    return ModelInfo(
        model=name,
        provider=str(entry.get("litellm_provider") or ""),
        kind="embeddings" if entry.get("mode") == "embedding" else "chat",
        context_window=max_input if isinstance(max_input, int) else None,
        max_output=max_output if isinstance(max_output, int) else None,
        prices=Prices(**base),
        tiers=tier_list,
        source="LiteLLM price map",
    )


def parse_price_file(data: bytes) -> list[ModelInfo]:
    """Every priced model in the file; raises PriceFileError for a file of neither format."""
    try:
        raw = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise PriceFileError(f"not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise PriceFileError("the file must hold a JSON object")
    if "schema" in raw and "models" in raw:
        try:
            return list(parse_catalog(data).models)
        except (msgspec.ValidationError, ValueError) as exc:
            raise PriceFileError(f"not a valid RouterX price table: {exc}") from None
    models = [
        info
        for name, entry in raw.items()
        if name != "sample_spec" and (info := _litellm_entry(name, entry)) is not None
    ]
    if not models:
        raise PriceFileError("no priced model found (RouterX catalog or LiteLLM price map)")
    return models


def prices_json(prices: Prices) -> dict[str, str]:
    return {k: str(v) for k, v in msgspec.structs.asdict(prices).items() if v is not None}
