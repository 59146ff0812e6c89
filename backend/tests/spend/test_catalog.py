"""The bundled model catalog: every entry is sourced and dated, lookups resolve snapshots."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from importlib import resources

from routerx.catalog import bundled_catalog, lookup


def test_every_model_has_a_source_a_check_date_and_decimal_string_prices() -> None:
    raw = json.loads(resources.files("routerx.catalog").joinpath("models.json").read_text())
    assert {m["provider"] for m in raw["models"]} == {"openai", "anthropic", "gemini"}
    for entry in raw["models"]:
        assert entry["source"].startswith("https://"), entry["model"]
        date.fromisoformat(entry["checked"])
        for figure in entry["prices"].values():
            assert isinstance(figure, str), (entry["model"], figure)  # never a JSON float
            Decimal(figure)


def test_lookup_gives_limits_and_exact_prices() -> None:
    info = lookup("gpt-4.1-mini")
    assert info is not None
    assert info.context_window == 1_047_576
    assert info.max_output == 32_768
    assert info.prices.input == Decimal("0.40")
    assert info.prices.output == Decimal("1.60")


def test_lookup_resolves_dated_snapshots_aliases_and_provider_prefixes() -> None:
    assert lookup("claude-haiku-4-5-20251001") is lookup("claude-haiku-4-5")
    assert lookup("gpt-4.1-mini-2025-04-14") is lookup("gpt-4.1-mini")
    assert lookup("openai/gpt-5") is lookup("gpt-5")
    assert lookup("Claude-Sonnet-4-5") is lookup("claude-sonnet-4-5")
    assert lookup("no-such-model") is None


def test_long_context_tier_replaces_the_base_prices_above_its_threshold() -> None:
    info = lookup("gemini-2.5-pro")
    assert info is not None
    assert info.prices_for(200_000).input == Decimal("1.25")
    assert info.prices_for(200_001).input == Decimal("2.50")
    assert info.prices_for(200_001).output == Decimal("15.00")


def test_an_unverified_tier_has_unknown_prices_not_zero() -> None:
    info = lookup("gpt-5.5")
    assert info is not None
    assert info.prices_for(300_000).input is None


def test_catalog_names_are_unique() -> None:
    names = [name for m in bundled_catalog().models for name in (m.model, *m.aliases)]
    assert len(names) == len(set(names))
