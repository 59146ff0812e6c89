"""The official openai SDK streams through a real RouterX gateway (ENABLE_REAL_CALLS=true) answers
that the Anthropic and the Gemini adapters translate from their fake upstreams."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import openai
import pytest
import pytest_asyncio

from routerx.storage.config_version import bump_config_version
from routerx.storage.models import Provider, RoutingRule, Tenant
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.gemini_server import FakeGemini
from tests.fakes.upstream import FakeUpstream, Scenario, ToolCallSpec
from tests.support.database import connected, prepare
from tests.support.processes import ServerProcess, base_env, start_server

DEMO_KEY = "demo_key_fake_123456"
ANTHROPIC_KEY = "sk-ant-test-through-gateway"
GEMINI_KEY = "gemini-test-through-gateway"
ROUTES = {
    "claude-via-routerx": ("fake-anthropic", "claude-sonnet-4-5"),
    "gemini-via-routerx": ("fake-gemini", "gemini-2.5-flash"),
}
SCENARIO = Scenario(text="Streamed through RouterX chunk by chunk.", prompt_tokens=21)


async def _configure(database_url: str, anthropic_url: str, gemini_url: str) -> None:
    """Demo data plus two real-type providers pointing at the fakes, and a rule for each."""
    await prepare(database_url)
    async with connected(database_url):
        await Provider.create(
            name="fake-anthropic",
            type="anthropic",
            base_url=anthropic_url,
            capabilities=["text", "tools"],
            secret_env="RX_TEST_ANTHROPIC_KEY",
        )
        await Provider.create(
            name="fake-gemini",
            type="gemini",
            base_url=gemini_url,
            capabilities=["text", "tools"],
            secret_env="RX_TEST_GEMINI_KEY",
        )
        for public, (provider, upstream) in ROUTES.items():
            await RoutingRule.create(
                name=f"rule-{public}",
                model_pattern=public,
                capability="text",
                targets=[{"provider": provider, "model": upstream, "weight": 1, "tier": 0}],
            )
        await Tenant.filter(name="demo").update(allowed_models=[])
        await bump_config_version()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def gateway(
    tmp_path_factory: pytest.TempPathFactory,
    anthropic_server: FakeAnthropic,
    gemini_server: FakeGemini,
) -> AsyncIterator[ServerProcess]:
    path: Path = tmp_path_factory.mktemp("through-gateway") / "routerx.sqlite3"
    database_url = f"sqlite://{path}"
    await _configure(database_url, anthropic_server.url, gemini_server.url)
    env = base_env(
        database_url,
        ENABLE_REAL_CALLS="true",
        RX_TEST_ANTHROPIC_KEY=ANTHROPIC_KEY,
        RX_TEST_GEMINI_KEY=GEMINI_KEY,
    )
    server = await start_server("gateway", env)
    try:
        yield server
    finally:
        server.stop()


def sdk(gateway: ServerProcess) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=gateway.url + "/v1", api_key=DEMO_KEY, max_retries=0)


@pytest.mark.parametrize(
    ("model", "adapter", "key_header", "key"),
    [
        ("claude-via-routerx", "anthropic", "x-api-key", ANTHROPIC_KEY),
        ("gemini-via-routerx", "gemini", "x-goog-api-key", GEMINI_KEY),
    ],
)
async def test_sdk_streams_a_translated_answer_with_usage(
    model: str,
    adapter: str,
    key_header: str,
    key: str,
    gateway: ServerProcess,
    fakes: dict[str, FakeUpstream],
) -> None:
    fake = fakes[adapter]
    fake.script(SCENARIO)

    async with sdk(gateway) as client:
        stream = await client.chat.completions.create(
            model=model,
            messages=[
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Stream me"},
            ],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]

    pieces = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert pieces == SCENARIO.words()  # one chunk per upstream delta, in order
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    usage = chunks[-1].usage
    assert chunks[-1].choices == [] and usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (21, 7, 28)
    headers = {k.lower(): v for k, v in fake.requests[-1].headers.items()}
    assert headers[key_header] == key


@pytest.mark.parametrize(
    ("model", "adapter"),
    [("claude-via-routerx", "anthropic"), ("gemini-via-routerx", "gemini")],
)
async def test_sdk_receives_a_streamed_tool_call(
    model: str, adapter: str, gateway: ServerProcess, fakes: dict[str, FakeUpstream]
) -> None:
    fake = fakes[adapter]
    fake.script(Scenario(tool_call=ToolCallSpec("get_weather", {"city": "Paris"})))
    tool: openai.types.chat.ChatCompletionToolParam = {
        "type": "function",
        "function": {"name": "get_weather", "parameters": {"type": "object"}},
    }

    async with sdk(gateway) as client:
        stream = await client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": "Weather in Paris?"}],
            tools=[tool],
            stream=True,
        )
        chunks = [chunk async for chunk in stream]

    calls = [call for c in chunks if c.choices for call in c.choices[0].delta.tool_calls or []]
    assert calls[0].function is not None and calls[0].function.name == "get_weather"
    arguments = "".join(call.function.arguments or "" for call in calls if call.function)
    assert arguments.replace(" ", "") == '{"city":"Paris"}'
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
