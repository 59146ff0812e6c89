"""`routerx prices load FILE`: LiteLLM's price map and RouterX's own format; bad files refused."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from routerx.spend.price_file import parse_price_file
from routerx.storage.models import PriceOverride
from tests.cli.test_commands import routerx
from tests.support.database import connected, prepare

LITELLM = {
    "sample_spec": {"input_cost_per_token": 0, "mode": "chat"},
    "my-model": {
        "litellm_provider": "openai",
        "mode": "chat",
        "max_input_tokens": 128000,
        "max_output_tokens": 16384,
        "input_cost_per_token": 2.5e-06,
        "output_cost_per_token": 1e-05,
        "cache_read_input_token_cost": 1.25e-06,
        "input_cost_per_token_above_200k_tokens": 5e-06,
        "output_cost_per_token_above_200k_tokens": 1.5e-05,
    },
    "an-image-model": {"mode": "image_generation", "output_cost_per_image": 0.04},
}


def test_litellm_per_token_floats_become_exact_per_million_decimals() -> None:
    (info,) = parse_price_file(json.dumps(LITELLM).encode())
    assert info.model == "my-model" and info.context_window == 128000
    assert info.prices.input == Decimal("2.5") and info.prices.output == Decimal("10")
    assert info.prices.cached_input == Decimal("1.25")
    (tier,) = info.tiers
    assert tier.above_prompt_tokens == 200_000
    assert tier.prices.input == Decimal("5") and tier.prices.output == Decimal("15")
    assert tier.prices.cached_input == Decimal("1.25")


async def test_load_a_litellm_map_then_refuse_a_bad_file(tmp_path: Path) -> None:
    database_url = f"sqlite://{tmp_path / 'rx.sqlite3'}"
    await prepare(database_url, seed=False)
    good = tmp_path / "prices.json"
    good.write_text(json.dumps(LITELLM))
    done = routerx(database_url, "prices", "load", str(good))
    assert done.returncode == 0, done.stderr
    assert "1 model(s)" in done.stdout
    async with connected(database_url):
        (row,) = await PriceOverride.all()
    assert (row.provider, row.model) == ("*", "my-model")
    assert row.prices == {"input": "2.5", "cached_input": "1.25", "output": "10"}
    bad = tmp_path / "bad.json"
    bad.write_text('{"x": {"input_cost_per_token": "free"}}')
    refused = routerx(database_url, "prices", "load", str(bad))
    assert refused.returncode == 2 and "not a number" in refused.stderr
    missing = routerx(database_url, "prices", "load", str(tmp_path / "none.json"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
