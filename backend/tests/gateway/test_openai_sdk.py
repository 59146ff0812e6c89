"""The official openai SDK as a real client of RouterX."""

from __future__ import annotations

import openai
import pytest

from tests.gateway.conftest import DEMO_KEY, RunningGateway

MESSAGES: list[openai.types.chat.ChatCompletionMessageParam] = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hello from the SDK"},
]


def client(gateway: RunningGateway, key: str = DEMO_KEY) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=gateway.url + "/v1", api_key=key, max_retries=0)


async def test_completion(pg_gateway: RunningGateway) -> None:
    async with client(pg_gateway) as sdk:
        completion = await sdk.chat.completions.create(model="gpt-4.1-mini", messages=MESSAGES)
    assert completion.choices[0].message.content
    assert completion.choices[0].message.role == "assistant"
    assert completion.usage is not None and completion.usage.total_tokens > 0


async def test_stream_with_usage(pg_gateway: RunningGateway) -> None:
    async with client(pg_gateway) as sdk:
        stream = await sdk.chat.completions.create(
            model="gpt-4.1-mini",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith("Mock answer from mock-text")
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


async def test_models(pg_gateway: RunningGateway) -> None:
    async with client(pg_gateway) as sdk:
        models = await sdk.models.list()
    assert [m.id for m in models.data] == ["gpt-4.1-mini", "text-embedding-3-small"]


async def test_typed_errors(pg_gateway: RunningGateway) -> None:
    async with client(pg_gateway, key="not-a-key") as sdk:
        with pytest.raises(openai.AuthenticationError) as auth_error:
            await sdk.chat.completions.create(model="gpt-4.1-mini", messages=MESSAGES)
    assert auth_error.value.code == "invalid_api_key"
    async with client(pg_gateway) as sdk:
        with pytest.raises(openai.BadRequestError) as bad_request:
            await sdk.chat.completions.create(model="gpt-4.1-mini", messages=[])
        assert bad_request.value.param == "messages"
        with pytest.raises(openai.NotFoundError) as not_found:
            await sdk.chat.completions.create(model="no-such-model", messages=MESSAGES)
        assert not_found.value.code == "model_not_found"
