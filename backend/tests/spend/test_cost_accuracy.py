"""Cost accuracy: hand-computed expected figures from the published prices in the catalog.

Each expected figure is worked out in the comment beside it (USD per million tokens x tokens).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from routerx.catalog import ModelInfo, Prices
from routerx.core.log_row import Attempt, LogRow
from routerx.spend.attempt_costs import Billed, price_attempts
from routerx.spend.config import ANY_PROVIDER, PriceEntry
from routerx.spend.cost import cost_of, worst_case_cost
from routerx.spend.money import usd
from routerx.spend.prices import PriceBook
from routerx.wire.openai import CompletionTokensDetails, PromptTokensDetails, Usage

BOOK = PriceBook()


def usage(
    prompt: int,
    completion: int,
    *,
    cached: int | None = None,
    written: int | None = None,
    written_1h: int | None = None,
    reasoning: int | None = None,
    audio_in: int | None = None,
) -> Usage:
    result = Usage(prompt, completion, prompt + completion)
    if cached is not None or written is not None or audio_in is not None:
        details = PromptTokensDetails(cached or 0)
        if written is not None:
            details.cache_creation_tokens = written
        if written_1h is not None:
            details.cache_creation_1h_tokens = written_1h
        if audio_in is not None:
            details.audio_tokens = audio_in
        result.prompt_tokens_details = details
    if reasoning is not None:
        result.completion_tokens_details = CompletionTokensDetails(reasoning)
    return result


CASES = [
    # plain: 1000 x 0.40 + 500 x 1.60 = 400 + 800 micro-USD
    ("plain", "openai", "gpt-4.1-mini", usage(1000, 500), "0.0012"),
    # an image prompt: OpenAI counts the image's tokens as prompt tokens, 1200 x 0.40 + 50 x 1.60
    ("image", "openai", "gpt-4.1-mini", usage(1200, 50), "0.00056"),
    # OpenAI cached prompt: 500 plain x 2.00 + 1500 cached x 0.50 + 100 x 8.00
    ("openai-cached", "openai", "gpt-4.1", usage(2000, 100, cached=1500), "0.00255"),
    # Anthropic cache read and writes: 100 x 3 + 10000 read x 0.30 + 1500 5m-write x 3.75
    # + 500 1h-write x 6 + 300 x 15 = 300 + 3000 + 5625 + 3000 + 4500 micro-USD
    (
        "anthropic-cache",
        "anthropic",
        "claude-sonnet-4-5",
        usage(12_100, 300, cached=10_000, written=2000, written_1h=500),
        "0.016425",
    ),
    # Gemini implicit cache: 2000 plain x 0.30 + 8000 cached x 0.03 + 200 x 2.50 (thinking in)
    (
        "gemini-cached",
        "gemini",
        "gemini-2.5-flash",
        usage(10_000, 200, cached=8000, reasoning=150),
        "0.00134",
    ),
    # reasoning billed as output: 100 x 1.10 + 1100 x 4.40
    ("reasoning", "openai", "o4-mini", usage(100, 1100, reasoning=1000), "0.00495"),
    # audio input at its own price: 600 x 0.30 + 400 audio x 1.00
    ("audio", "gemini", "gemini-2.5-flash", usage(1000, 0, audio_in=400), "0.00058"),
    # long-context tier, at the threshold: 200000 x 1.25 + 1000 x 10
    ("tier-edge", "gemini", "gemini-2.5-pro", usage(200_000, 1000), "0.26"),
    # above it the whole request is at the higher tier: 250000 x 2.50 + 1000 x 15
    ("long-context", "gemini", "gemini-2.5-pro", usage(250_000, 1000), "0.64"),
    # Anthropic prompt-length band: 150000 x 0.50 + 1000 x 2.50
    ("haiku-band", "anthropic", "claude-haiku-5-5", usage(150_000, 1000), "0.0775"),
    # embeddings: 1000 x 0.02
    ("embeddings", "openai", "text-embedding-3-small", usage(1000, 0), "0.00002"),
    # dated snapshot names resolve to their model
    ("snapshot", "anthropic", "claude-haiku-4-5-20251001", usage(1000, 1000), "0.006"),
]


@pytest.mark.parametrize(("case", "provider", "model", "used", "expected"), CASES)
def test_cost_matches_the_hand_computed_figure(
    case: str, provider: str, model: str, used: Usage, expected: str
) -> None:
    cost = cost_of(used, BOOK.rates(provider, model))
    assert cost is not None, case
    assert usd(cost) == Decimal(expected), case


def test_an_unknown_model_costs_null_never_zero() -> None:
    assert BOOK.rates("openai", "my-finetune") is None
    assert cost_of(usage(10, 10), BOOK.rates("openai", "my-finetune")) is None


def test_cached_tokens_without_a_cached_price_make_the_cost_unknown() -> None:
    rates = BOOK.rates("gemini", "gemini-3.1-pro")
    assert cost_of(usage(1000, 10), rates) is not None
    assert cost_of(usage(1000, 10, cached=500), rates) is None


def test_an_unverified_long_context_tier_is_unknown() -> None:
    rates = BOOK.rates("openai", "gpt-5.5")
    assert cost_of(usage(270_000, 10), rates) is not None
    assert cost_of(usage(270_001, 10), rates) is None


def test_overrides_win_per_provider_then_tables_then_the_catalog() -> None:
    free = ModelInfo(
        model="gpt-4.1-mini", provider="self-hosted", prices=Prices(Decimal(0), output=Decimal(0))
    )
    cheaper = ModelInfo(
        model="gpt-4.1-mini",
        provider=ANY_PROVIDER,
        prices=Prices(Decimal("0.20"), output=Decimal("0.80")),
    )
    book = PriceBook(
        (
            PriceEntry("local-vllm", "gpt-4.1-mini", free),
            PriceEntry(ANY_PROVIDER, "gpt-4.1-mini", cheaper),
        )
    )
    assert cost_of(usage(1000, 1000), book.rates("local-vllm", "gpt-4.1-mini")) == 0
    table = cost_of(usage(1000, 1000), book.rates("openai", "gpt-4.1-mini"))
    assert table is not None and usd(table) == Decimal("0.001")  # 1000 x 0.20 + 1000 x 0.80
    assert (
        book.info("openai", "gpt-4o") is not None and book.info("openai", "gpt-4o")[1] == "catalog"
    )


def _row(*attempts: Attempt) -> LogRow:
    return LogRow(request_id="r", created_at=0.0, status=200, attempts=list(attempts))


def test_a_fallback_with_two_billed_attempts_sums_both() -> None:
    # A hedge that lost after it had started streaming (its usage estimated from what it
    # relayed), the winner on another provider, and a failed attempt the upstream never billed.
    row = _row(
        Attempt("openai-a", "gpt-4.1-mini", "failure", status=503),
        Attempt("openai-b", "gpt-4.1-mini", "success", hedged=False),
        Attempt("anthropic", "claude-haiku-4-5", "success", hedged=True),
    )
    billed = [
        Billed("anthropic", "claude-haiku-4-5", usage(1000, 1000)),  # 1000 x 1 + 1000 x 5
        Billed("openai-b", "gpt-4.1-mini", usage(1000, 10), estimated=True),  # 400 + 16
    ]
    price_attempts(row, billed, BOOK)
    assert [a.cost_picousd for a in row.attempts] == [0, 416_000_000, 6_000_000_000]
    assert [a.cost_estimated for a in row.attempts] == [False, True, False]
    assert row.cost_picousd == 6_416_000_000 and usd(row.cost_picousd) == Decimal("0.006416")
    assert row.cost_estimated


def test_a_stream_cut_before_usage_is_priced_from_the_estimate_and_marked() -> None:
    row = _row(Attempt("openai", "gpt-4.1-mini", "success"))
    price_attempts(row, [Billed("openai", "gpt-4.1-mini", usage(20, 5), estimated=True)], BOOK)
    assert row.cost_picousd == 20 * 400_000 + 5 * 1_600_000
    assert row.cost_estimated and row.attempts[0].cost_estimated


def test_a_request_with_an_unpriced_answer_has_a_null_total() -> None:
    row = _row(Attempt("openai", "my-finetune", "success"))
    price_attempts(row, [Billed("openai", "my-finetune", usage(20, 5))], BOOK)
    assert row.cost_picousd is None and row.attempts[0].cost_picousd is None


def test_an_answer_without_usage_has_an_unknown_cost() -> None:
    row = _row(Attempt("openai", "gpt-4.1-mini", "success"))
    price_attempts(row, [Billed("openai", "gpt-4.1-mini", None)], BOOK)
    assert row.cost_picousd is None


def test_worst_case_takes_the_dearest_prompt_price_and_the_output_cap() -> None:
    rates = BOOK.rates("anthropic", "claude-sonnet-4-5")
    # 1000 prompt tokens at the 1-hour cache-write price (6.00) + 500 x 15
    assert usd(worst_case_cost(1000, 500, rates)) == Decimal("0.0135")
    assert worst_case_cost(1000, 500, None) == 0
