"""The fake upstreams refuse, as the real APIs do, bodies that break their documented schemas:
the adapter tests can only catch a wrong mapping if the fakes do."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.fakes.upstream import FakeUpstream
from tests.providers import requests

HELLO = [{"role": "user", "content": "Hello"}]
OPENAI_BAD: list[tuple[str, dict[str, Any]]] = [
    ("no messages", {"model": "m", "messages": []}),
    (
        "audio format",
        {
            "model": "m",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "ogg"}}
                    ],
                }
            ],
        },
    ),
    (
        "file with both",
        {
            "model": "m",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "file",
                            "file": {"file_data": requests.PDF_DATA_URL, "file_id": "file-1"},
                        }
                    ],
                }
            ],
        },
    ),
    ("stream_options without stream", {"model": "m", "messages": HELLO, "stream_options": {}}),
    ("top_logprobs alone", {"model": "m", "messages": HELLO, "top_logprobs": 3}),
    ("effort", {"model": "m", "messages": HELLO, "reasoning_effort": "extreme"}),
]
ANTHROPIC_OK = {"model": "m", "max_tokens": 10, "messages": HELLO}
ANTHROPIC_BAD: list[tuple[str, dict[str, Any]]] = [
    ("empty conversation", {**ANTHROPIC_OK, "messages": []}),
    ("system role", {**ANTHROPIC_OK, "messages": [{"role": "system", "content": "x"}]}),
    ("temperature above 1", {**ANTHROPIC_OK, "temperature": 1.5}),
    ("unknown field", {**ANTHROPIC_OK, "logprobs": True}),
    ("no max_tokens", {"model": "m", "messages": HELLO}),
    (
        "audio block",
        {
            **ANTHROPIC_OK,
            "messages": [{"role": "user", "content": [{"type": "input_audio", "data": "AAAA"}]}],
        },
    ),
    (
        "document not base64",
        {
            **ANTHROPIC_OK,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "document",
                            "source": {
                                "type": "base64",
                                "media_type": "application/pdf",
                                "data": "not base64!",
                            },
                        }
                    ],
                }
            ],
        },
    ),
    (
        "thinking budget above max_tokens",
        {**ANTHROPIC_OK, "thinking": {"type": "enabled", "budget_tokens": 2048}},
    ),
    (
        "thinking with temperature",
        {
            **ANTHROPIC_OK,
            "max_tokens": 5000,
            "temperature": 0.3,
            "thinking": {"type": "enabled", "budget_tokens": 2048},
        },
    ),
]
GEMINI_OK = {"contents": [{"role": "user", "parts": [{"text": "Hello"}]}]}
GEMINI_BAD: list[tuple[str, dict[str, Any]]] = [
    ("empty contents", {"contents": []}),
    ("unknown field", {**GEMINI_OK, "logprobs": 3}),
    ("unknown generation field", {**GEMINI_OK, "generationConfig": {"maxTokens": 3}}),
    (
        "inline data without a type",
        {"contents": [{"role": "user", "parts": [{"inlineData": {"data": "AAAA"}}]}]},
    ),
    (
        "thinking budget type",
        {**GEMINI_OK, "generationConfig": {"thinkingConfig": {"thinkingBudget": "high"}}},
    ),
]


async def _post(fake: FakeUpstream, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(fake.url + path, json=body) as response,
    ):
        return response.status, await response.json()


@pytest.mark.parametrize(("case", "body"), OPENAI_BAD, ids=[c for c, _ in OPENAI_BAD])
async def test_openai_fake_refuses(
    case: str, body: dict[str, Any], openai_fake: FakeUpstream
) -> None:
    status, answer = await _post(openai_fake, "/v1/chat/completions", body)
    assert status == 400 and answer["error"]["type"] == "invalid_request_error"
    assert openai_fake.refused


@pytest.mark.parametrize(("case", "body"), ANTHROPIC_BAD, ids=[c for c, _ in ANTHROPIC_BAD])
async def test_anthropic_fake_refuses(
    case: str, body: dict[str, Any], anthropic_fake: FakeUpstream
) -> None:
    status, answer = await _post(anthropic_fake, "/v1/messages", body)
    assert status == 400 and answer["error"]["type"] == "invalid_request_error"
    assert (await _post(anthropic_fake, "/v1/messages", ANTHROPIC_OK))[0] == 200


@pytest.mark.parametrize(("case", "body"), GEMINI_BAD, ids=[c for c, _ in GEMINI_BAD])
async def test_gemini_fake_refuses(
    case: str, body: dict[str, Any], gemini_fake: FakeUpstream
) -> None:
    path = "/v1beta/models/gemini-x:generateContent"
    status, answer = await _post(gemini_fake, path, body)
    assert status == 400 and answer["error"]["status"] == "INVALID_ARGUMENT"
    assert (await _post(gemini_fake, path, GEMINI_OK))[0] == 200
