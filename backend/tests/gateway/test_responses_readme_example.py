"""The README's /v1/responses examples against `make run`'s setup: SQLite, demo data, mocks."""

from __future__ import annotations

import aiohttp
from agents import Agent, OpenAIResponsesModel, Runner, set_tracing_disabled
from openai import AsyncOpenAI

from tests.gateway.conftest import AUTH, DEMO_KEY, RunningGateway

CURL_BODY = {"model": "gpt-4.1-mini", "instructions": "Answer in one sentence.", "input": "Hello"}


async def test_the_curl_example_answers_from_the_mock(sqlite_gateway: RunningGateway) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            sqlite_gateway.url + "/v1/responses", json=CURL_BODY, headers=AUTH
        ) as response,
    ):
        body = await response.json()
        assert response.status == 200, body
        assert response.headers["x-routerx-provider"] == "mock-text"
    assert body["object"] == "response" and body["status"] == "completed"
    [message] = body["output"]
    assert message["type"] == "message" and message["role"] == "assistant"
    text = message["content"][0]["text"]
    assert text.startswith("Mock answer from mock-text") and "2 message(s)" in text
    usage = body["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"] > 0
    assert body["instructions"] == "Answer in one sentence."


async def test_the_agents_example_runs(sqlite_gateway: RunningGateway) -> None:
    set_tracing_disabled(True)
    client = AsyncOpenAI(base_url=sqlite_gateway.url + "/v1", api_key=DEMO_KEY, max_retries=0)
    agent = Agent(
        name="assistant",
        instructions="Answer in one sentence.",
        model=OpenAIResponsesModel(model="gpt-4.1-mini", openai_client=client),
    )
    result = await Runner.run(agent, "Hello")
    assert str(result.final_output).startswith("Mock answer from mock-text")
