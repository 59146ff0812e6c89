"""Adapters report the usage details that change cost: Anthropic's cache writes split by lifetime,
Gemini's cached, thinking and audio tokens, OpenAI's audio tokens."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from routerx.providers.anthropic.response import decode_message
from routerx.providers.gemini.response import ModalityTokenCount, UsageMetadata
from routerx.spend.cost import cost_of
from routerx.spend.money import usd
from routerx.spend.prices import PriceBook
from routerx.wire.openai import UsageView

BOOK = PriceBook()


def test_anthropic_cache_writes_keep_their_one_hour_part() -> None:
    message = decode_message(
        msgspec.json.encode(
            {
                "content": [{"type": "text", "text": "ok"}],
                "usage": {
                    "input_tokens": 100,
                    "output_tokens": 300,
                    "cache_read_input_tokens": 10_000,
                    "cache_creation_input_tokens": 2000,
                    "cache_creation": {
                        "ephemeral_5m_input_tokens": 1500,
                        "ephemeral_1h_input_tokens": 500,
                    },
                },
            }
        )
    )
    details = message.usage.prompt_details()
    assert details is not None
    assert (details.cached_tokens, details.cache_creation_tokens) == (10_000, 2000)
    assert details.cache_creation_1h_tokens == 500
    assert message.usage.prompt_tokens == 12_100


def test_gemini_cached_and_thinking_tokens() -> None:
    usage = UsageMetadata(
        prompt_token_count=10_000,
        candidates_token_count=50,
        thoughts_token_count=150,
        cached_content_token_count=8000,
        total_token_count=10_200,
    ).to_openai()
    cost = cost_of(usage, BOOK.rates("gemini", "gemini-2.5-flash"))
    assert cost is not None and usd(cost) == Decimal(
        "0.00134"
    )  # 2000 x .30 + 8000 x .03 + 200 x 2.5


def test_gemini_audio_prompt_tokens_are_billed_at_the_audio_rate() -> None:
    """`promptTokensDetails` per modality: the AUDIO part at the audio rate, IMAGE at text's."""
    metadata = msgspec.json.decode(
        b'{"promptTokenCount":1000,"candidatesTokenCount":10,"totalTokenCount":1010,'
        b'"promptTokensDetails":[{"modality":"TEXT","tokenCount":342},'
        b'{"modality":"IMAGE","tokenCount":258},{"modality":"AUDIO","tokenCount":400}]}',
        type=UsageMetadata,
    )
    usage = metadata.to_openai()
    details = usage.prompt_tokens_details
    assert details is not None and details is not msgspec.UNSET
    assert (details.audio_tokens, details.cached_tokens) == (400, 0)
    cost = cost_of(usage, BOOK.rates("gemini", "gemini-2.5-flash"))
    assert cost is not None and usd(cost) == Decimal("0.000605")  # 600 x .30 + 400 x 1 + 10 x 2.5


def test_gemini_usage_without_audio_has_no_audio_detail() -> None:
    usage = UsageMetadata(
        prompt_token_count=100,
        total_token_count=100,
        prompt_tokens_details=[ModalityTokenCount("TEXT", 100)],
    ).to_openai()
    assert usage.prompt_tokens_details is msgspec.UNSET


def test_openai_audio_tokens_are_read_from_the_usage() -> None:
    view = msgspec.json.decode(
        b'{"usage":{"prompt_tokens":1000,"completion_tokens":10,"total_tokens":1010,'
        b'"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":400},'
        b'"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":5}}}',
        type=UsageView,
    )
    assert view.usage is not None
    details = view.usage.prompt_tokens_details
    assert details is not None and details is not msgspec.UNSET
    assert details.audio_tokens == 400
    cost = cost_of(view.usage, BOOK.rates("gemini", "gemini-2.5-flash"))
    assert cost is not None and usd(cost) == Decimal("0.000605")  # 600 x .30 + 400 x 1 + 10 x 2.5
