"""POST /v1/responses through a real gateway to fake OpenAI-compatible upstreams, with the
official `openai` SDK and the `openai-agents` SDK as clients: plain, streamed and tool answers,
failover before the first event, and the Responses error event after it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest
import pytest_asyncio
from agents import Agent, OpenAIResponsesModel, Runner, function_tool, set_tracing_disabled
from openai import AsyncOpenAI

from routerx.storage.config_version import bump_config_version
from routerx.storage.models import Provider
from tests.conftest import create_pg_database, drop_pg_database
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.upstream import Scenario, ToolCallSpec
from tests.routing.failover_env import (
    MODEL,
    FailoverEnv,
    configure,
    log_row,
    reset_breakers,
    start_gateway,
)
from tests.support.database import connected

KEY = "demo_key_fake_123456"
TEXT = "Hello from the fake upstream."
WEATHER_TOOL = {
    "type": "function",
    "name": "weather",
    "description": "The weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env() -> AsyncIterator[FailoverEnv]:
    """The failover setup (primary, then secondary, for MODEL), both upstreams taking tools."""
    database_url = await create_pg_database()
    try:
        async with FakeOpenAI.running() as primary, FakeOpenAI.running() as secondary:
            await configure(database_url, primary, secondary)
            async with connected(database_url):
                await Provider.all().update(capabilities=["text", "vision", "tools", "json"])
                await bump_config_version()
            gateway = await start_gateway(database_url)
            try:
                yield FailoverEnv(gateway, database_url, primary, secondary)
            finally:
                gateway.stop()
    finally:
        await drop_pg_database(database_url)


@pytest_asyncio.fixture(loop_scope="session")
async def fresh(env: FailoverEnv) -> FailoverEnv:
    env.primary.reset()
    env.secondary.reset()
    await reset_breakers(env.gateway.url)
    return env


def client(env: FailoverEnv) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=env.gateway.url + "/v1", api_key=KEY, max_retries=0)


async def test_plain_create_translates_both_ways(fresh: FailoverEnv) -> None:
    raw = await client(fresh).responses.with_raw_response.create(
        model=MODEL,
        instructions="Be brief.",
        input="hello",
        max_output_tokens=40,
        metadata={"team": "search"},
    )
    response = raw.parse()
    assert response.object == "response" and response.id.startswith("resp_")
    assert response.status == "completed"
    assert response.output_text == TEXT
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == (12, 7)
    assert response.usage.total_tokens == 19
    assert response.metadata == {"team": "search"}
    sent = fresh.primary.requests[-1].body
    assert sent["model"] == "up-primary"
    assert sent["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hello"},
    ]
    assert sent["max_tokens"] == 40 and "metadata" not in sent
    row = await log_row(fresh.database_url, raw.headers["x-request-id"])
    assert (row.api, row.status, row.model, row.provider) == ("responses", 200, MODEL, "primary")
    assert (row.prompt_tokens, row.completion_tokens) == (12, 7)


async def test_streamed_create_is_the_responses_event_sequence(fresh: FailoverEnv) -> None:
    stream = await client(fresh).responses.create(model=MODEL, input="hello", stream=True)
    events = [event async for event in stream]
    types = [event.type for event in events]
    assert types[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert types[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [event.sequence_number for event in events] == list(range(len(events)))
    deltas = [event.delta for event in events if event.type == "response.output_text.delta"]
    assert "".join(deltas) == TEXT and len(deltas) > 1
    final = events[-1].response  # type: ignore[union-attr]
    assert final.output_text == TEXT
    assert final.usage is not None and final.usage.output_tokens == 7
    assert fresh.primary.requests[-1].body["stream_options"] == {"include_usage": True}


async def test_function_tools_plain_and_streamed(fresh: FailoverEnv) -> None:
    call = ToolCallSpec("weather", {"city": "Paris"}, id="call_w1")
    fresh.primary.script(Scenario(tool_call=call), Scenario(tool_call=call))
    api = client(fresh)
    response = await api.responses.create(
        model=MODEL,
        input="Weather in Paris?",
        tools=[WEATHER_TOOL],
        tool_choice="auto",  # type: ignore[list-item]
    )
    [item] = response.output
    assert item.type == "function_call"
    assert (item.call_id, item.name, json.loads(item.arguments)) == (
        "call_w1",
        "weather",
        {"city": "Paris"},
    )
    sent = fresh.primary.requests[-1].body
    assert sent["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "weather",
                "description": "The weather in a city.",
                "parameters": WEATHER_TOOL["parameters"],
            },
        }
    ]
    assert sent["tool_choice"] == "auto"

    async with api.responses.stream(
        model=MODEL,
        input="Weather in Paris?",
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
    ) as stream:
        types = [event.type async for event in stream]
        final = await stream.get_final_response()
    assert "response.function_call_arguments.delta" in types
    assert types[-3:] == [
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    [streamed] = final.output
    assert streamed.type == "function_call" and json.loads(streamed.arguments) == {"city": "Paris"}


async def test_the_tool_result_turn_goes_back_as_chat_tool_messages(fresh: FailoverEnv) -> None:
    response = await client(fresh).responses.create(
        model=MODEL,
        input=[
            {"role": "user", "content": "Weather in Paris?"},
            {
                "type": "function_call",
                "call_id": "call_w1",
                "name": "weather",
                "arguments": '{"city":"Paris"}',
            },
            {"type": "function_call_output", "call_id": "call_w1", "output": "sunny, 21 C"},
        ],
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
    )
    assert response.output_text == TEXT
    messages = fresh.primary.requests[-1].body["messages"]
    assert messages[1]["tool_calls"][0]["id"] == "call_w1"
    assert messages[2] == {"role": "tool", "tool_call_id": "call_w1", "content": "sunny, 21 C"}


async def test_an_openai_agents_turn_with_a_function_tool(fresh: FailoverEnv) -> None:
    set_tracing_disabled(True)
    cities: list[str] = []

    @function_tool
    def weather(city: str) -> str:
        """The weather in a city."""
        cities.append(city)
        return f"sunny in {city}"

    fresh.primary.script(
        Scenario(tool_call=ToolCallSpec("weather", {"city": "Rome"}, id="call_a1"))
    )
    agent = Agent(
        name="forecaster",
        instructions="Answer with the weather.",
        tools=[weather],
        model=OpenAIResponsesModel(model=MODEL, openai_client=client(fresh)),
    )
    result = await Runner.run(agent, "What is the weather in Rome?")
    assert cities == ["Rome"]
    assert result.final_output == TEXT
    second = fresh.primary.requests[-1].body["messages"]
    assert second[0] == {"role": "system", "content": "Answer with the weather."}
    assert second[-1] == {"role": "tool", "tool_call_id": "call_a1", "content": "sunny in Rome"}


@pytest.mark.parametrize(
    "scenario",
    [Scenario.fail(500), Scenario.fail(429), Scenario(hang=True)],
    ids=["500", "429", "stall-before-first-event"],
)
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
async def test_failover_before_the_first_event_is_transparent(
    fresh: FailoverEnv, scenario: Scenario, stream: bool
) -> None:
    fresh.primary.script(scenario)
    api = client(fresh)
    if stream:
        events = [e async for e in await api.responses.create(model=MODEL, input="hi", stream=True)]
        assert events[0].type == "response.created" and events[-1].type == "response.completed"
        final = events[-1].response  # type: ignore[union-attr]
    else:
        final = await api.responses.create(model=MODEL, input="hi")
    assert final.output_text == TEXT
    assert fresh.primary.requests and fresh.secondary.requests[-1].body["model"] == "up-secondary"


@pytest.mark.parametrize(
    "scenario",
    [
        Scenario(error_after_chunks=3),
        Scenario(reset_after_chunks=3),
        Scenario(stall_after_chunks=3),
    ],
    ids=["error-event", "connection-reset", "stall"],
)
async def test_a_cut_after_the_first_event_is_the_responses_error_event(
    fresh: FailoverEnv, scenario: Scenario
) -> None:
    fresh.primary.script(scenario)
    raw = await client(fresh).responses.with_raw_response.create(
        model=MODEL, input="hi", stream=True
    )
    events = [event async for event in raw.parse()]
    types = [event.type for event in events]
    assert types[-2:] == ["error", "response.failed"]
    assert "response.completed" not in types
    assert [event.sequence_number for event in events] == list(range(len(events)))
    failed = events[-1].response  # type: ignore[union-attr]
    assert failed.status == "failed" and failed.error is not None
    assert not fresh.secondary.requests  # no failover once the stream is committed
    row = await log_row(fresh.database_url, raw.headers["x-request-id"])
    assert (row.api, row.error_type) == ("responses", "stream_interrupted")


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"previous_response_id": "resp_1"}, "previous_response_id"),
        ({"store": True}, "store"),
        ({"tools": [{"type": "web_search"}]}, "tools[0].type"),
        ({"temperature": 5}, "temperature"),
    ],
)
async def test_refusals_are_openai_shaped_400s(
    fresh: FailoverEnv, extra: dict[str, Any], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await client(fresh).responses.create(model=MODEL, input="hi", **extra)
    error = caught.value
    assert error.status_code == 400
    assert isinstance(error.body, dict) and error.body["param"] == param
    assert error.body["type"] == "invalid_request_error"
    assert not fresh.primary.requests


async def test_wrong_key_and_unknown_model(fresh: FailoverEnv) -> None:
    with pytest.raises(openai.AuthenticationError):
        await AsyncOpenAI(
            base_url=fresh.gateway.url + "/v1", api_key="nope", max_retries=0
        ).responses.create(model=MODEL, input="hi")
    with pytest.raises(openai.NotFoundError) as caught:
        await client(fresh).responses.create(model="no-such-model", input="hi")
    assert isinstance(caught.value.body, dict) and caught.value.body["code"] == "model_not_found"
