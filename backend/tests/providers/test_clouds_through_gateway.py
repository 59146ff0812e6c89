"""The official openai and anthropic SDKs reach the Bedrock and Vertex fakes through a running
gateway (ENABLE_REAL_CALLS=true): plain, streamed, tools, images; throttling fails over to the
other cloud, both ways; context windows skip targets or refuse before any upstream call; latency
balancing and the automatic hedge delay act on what the gateway measured."""

from __future__ import annotations

import asyncio
import base64
import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
import pytest_asyncio

from routerx.storage.config_version import bump_config_version
from routerx.storage.models import Provider, RequestLog, RoutingRule, Tenant
from tests.fakes.bedrock_server import ACCESS_KEY_ID, REGION, FakeBedrock
from tests.fakes.image_server import PNG
from tests.fakes.upstream import Scenario, ToolCallSpec
from tests.fakes.vertex_server import LOCATION, PROJECT, FakeVertex, service_account_info
from tests.support.database import connected, prepare
from tests.support.processes import ServerProcess, base_env, start_server

DEMO_KEY = "demo_key_fake_123456"
DATABASE: dict[str, str] = {}  # the module gateway's database, for reading its request log
DEADLINE_S = 10.0
CLAUDE_ON_BEDROCK = "anthropic.claude-sonnet-4-20250514-v1:0"
TINY = "tiny.model-v1:0"  # a 200-token window (the provider's own setting)
MID = "mid.model-v1:0"  # an 8000-token window
SLOW = "slow.model-v1:0"
FAST = "fast.model-v1:0"
RULES: dict[str, tuple[list[tuple[str, str, int]], dict[str, Any]]] = {
    "claude-on-bedrock": ([("bedrock", CLAUDE_ON_BEDROCK, 0)], {}),
    "gemini-on-vertex": ([("vertex", "gemini-2.5-flash", 0)], {}),
    "claude-on-vertex": ([("vertex", "claude-sonnet-4@20250514", 0)], {}),
    "cloud-failover": (
        [("bedrock", "meta.llama3-70b-instruct-v1:0", 0), ("vertex", "gemini-2.5-flash", 1)],
        {},
    ),
    **{  # one Vertex target per status: each its own breaker
        f"vertex-failover-{status}": (
            [("vertex", f"claude-sonnet-4@2025{status}", 0), ("bedrock", CLAUDE_ON_BEDROCK, 1)],
            {},
        )
        for status in (429, 500, 503)
    },
    "tiny-then-vertex": ([("bedrock", TINY, 0), ("vertex", "gemini-2.5-flash", 1)], {}),
    "tiny-only": ([("bedrock", TINY, 0)], {}),
    "mid-then-large": ([("bedrock", MID, 0), ("vertex", "gemini-2.5-flash", 1)], {}),
    "latency-pick": (
        [("bedrock", SLOW, 0), ("vertex", "gemini-2.5-flash", 0)],
        {"balancing": "latency"},
    ),
    "auto-hedge": (
        [("bedrock", FAST, 0), ("vertex", "gemini-2.5-flash", 1)],
        {"hedge_delay_auto": True},
    ),
}


async def _configure(database_url: str, bedrock_url: str, vertex_url: str) -> None:
    await prepare(database_url)
    async with connected(database_url):
        await Provider.create(
            name="bedrock",
            type="bedrock",
            base_url=bedrock_url,
            capabilities=["text", "vision", "tools"],
            settings={"region": REGION, "context_windows": {TINY: 200, MID: 8000}},
            secret_env="RX_TEST_AWS_KEYS",
        )
        await Provider.create(
            name="vertex",
            type="vertex",
            base_url=vertex_url,
            capabilities=["text", "vision", "tools"],
            settings={"project": PROJECT, "location": LOCATION},
            secret_env="RX_TEST_GCP_KEY",
        )
        for public, (targets, options) in RULES.items():
            await RoutingRule.create(
                name=f"rule-{public}",
                model_pattern=public,
                capability="text",
                targets=[
                    {"provider": provider, "model": model, "weight": 1, "tier": tier}
                    for provider, model, tier in targets
                ],
                **options,
            )
        for public in ("claude-on-bedrock", "gemini-on-vertex", "claude-on-vertex"):
            targets, _ = RULES[public]
            provider, model, _ = targets[0]
            await RoutingRule.create(  # images need a vision rule (the demo data has one for *)
                name=f"vision-{public}",
                model_pattern=public,
                capability="vision",
                targets=[{"provider": provider, "model": model, "weight": 1, "tier": 0}],
            )
        await Tenant.filter(name="demo").update(allowed_models=[])
        await bump_config_version()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def gateway(
    tmp_path_factory: pytest.TempPathFactory,
    bedrock_server: FakeBedrock,
    vertex_server: FakeVertex,
) -> AsyncIterator[ServerProcess]:
    path: Path = tmp_path_factory.mktemp("clouds-gateway") / "routerx.sqlite3"
    database_url = f"sqlite://{path}"
    DATABASE["url"] = database_url
    await _configure(database_url, bedrock_server.url, vertex_server.url)
    keys = {"access_key_id": ACCESS_KEY_ID, "secret_access_key": FakeBedrock.secret_access_key}
    env = base_env(
        database_url,
        ENABLE_REAL_CALLS="true",
        RX_TEST_AWS_KEYS=json.dumps(keys),
        RX_TEST_GCP_KEY=json.dumps(service_account_info(vertex_server.url, "gateway-key")),
    )
    server = await start_server("gateway", env)
    try:
        yield server
    finally:
        server.stop()


def sdk(gateway: ServerProcess) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=gateway.url + "/v1", api_key=DEMO_KEY, max_retries=0)


CLOUD_MODELS = [
    ("claude-on-bedrock", "bedrock"),
    ("gemini-on-vertex", "vertex"),
    ("claude-on-vertex", "vertex"),
]
WEATHER: openai.types.chat.ChatCompletionToolParam = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object"}},
}


@pytest.mark.parametrize(("model", "provider"), CLOUD_MODELS)
async def test_plain_and_streamed_answers(
    model: str,
    provider: str,
    gateway: ServerProcess,
    bedrock_fake: FakeBedrock,
    vertex_fake: FakeVertex,
) -> None:
    scenario = Scenario(text="Answered from the cloud.", prompt_tokens=30)
    fake = bedrock_fake if provider == "bedrock" else vertex_fake
    fake.script(scenario, scenario)
    messages: list[openai.types.chat.ChatCompletionMessageParam] = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hello"},
    ]

    async with sdk(gateway) as client:
        raw = await client.chat.completions.with_raw_response.create(model=model, messages=messages)
        answer = raw.parse()
        stream = await client.chat.completions.create(
            model=model, messages=messages, stream=True, stream_options={"include_usage": True}
        )
        chunks = [chunk async for chunk in stream]

    assert raw.headers["x-routerx-provider"] == provider
    assert answer.choices[0].message.content == scenario.text
    assert answer.usage is not None and answer.usage.prompt_tokens == 30
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == scenario.text
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 37
    assert len(fake.requests) == 2


@pytest.mark.parametrize(("model", "provider"), CLOUD_MODELS)
async def test_tool_calls_and_images(
    model: str,
    provider: str,
    gateway: ServerProcess,
    bedrock_fake: FakeBedrock,
    vertex_fake: FakeVertex,
) -> None:
    fake = bedrock_fake if provider == "bedrock" else vertex_fake
    fake.script(Scenario(tool_call=ToolCallSpec("get_weather", {"city": "Paris"})))
    image = "data:image/png;base64," + base64.b64encode(PNG).decode()

    async with sdk(gateway) as client:
        stream = await client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": "Weather in Paris?"}],
            tools=[WEATHER],
            stream=True,
        )
        chunks = [chunk async for chunk in stream]
        described = await client.chat.completions.create(
            model=model,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is this?"},
                        {"type": "image_url", "image_url": {"url": image}},
                    ],
                }
            ],
        )

    calls = [call for c in chunks if c.choices for call in c.choices[0].delta.tool_calls or []]
    assert calls[0].function is not None and calls[0].function.name == "get_weather"
    arguments = "".join(call.function.arguments or "" for call in calls if call.function)
    assert json.loads(arguments) == {"city": "Paris"}
    assert described.choices[0].message.content
    assert base64.b64encode(PNG).decode() in json.dumps(fake.requests[-1].body)


@pytest.mark.parametrize(("model", "provider"), CLOUD_MODELS)
async def test_the_anthropic_sdk_reaches_both_clouds(
    model: str,
    provider: str,
    gateway: ServerProcess,
    bedrock_fake: FakeBedrock,
    vertex_fake: FakeVertex,
) -> None:
    """`/v1/messages` with the anthropic SDK: plain, streamed, a tool call and an image."""
    fake = bedrock_fake if provider == "bedrock" else vertex_fake
    plain = Scenario(text="Messages through the cloud.", prompt_tokens=21)
    fake.script(plain, plain, Scenario(tool_call=ToolCallSpec("get_weather", {"city": "Paris"})))
    image = base64.b64encode(PNG).decode()
    hello: list[anthropic.types.MessageParam] = [{"role": "user", "content": "Hello"}]

    async with anthropic.AsyncAnthropic(
        base_url=gateway.url, api_key=DEMO_KEY, max_retries=0
    ) as client:
        message = await client.messages.create(model=model, max_tokens=64, messages=hello)
        async with client.messages.stream(model=model, max_tokens=64, messages=hello) as stream:
            streamed = await stream.get_final_message()
        tool_use = await client.messages.create(
            model=model,
            max_tokens=64,
            messages=[{"role": "user", "content": "Weather in Paris?"}],
            tools=[{"name": "get_weather", "input_schema": {"type": "object"}}],
        )
        described = await client.messages.create(
            model=model,
            max_tokens=64,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is this?"},
                        {
                            "type": "image",
                            "source": {"type": "base64", "media_type": "image/png", "data": image},
                        },
                    ],
                }
            ],
        )

    for answer in (message, streamed):
        assert [block.type for block in answer.content] == ["text"]
        assert answer.content[0].type == "text" and answer.content[0].text == plain.text
        assert answer.stop_reason == "end_turn"
        assert (answer.usage.input_tokens, answer.usage.output_tokens) == (21, 7)
    [call] = [block for block in tool_use.content if block.type == "tool_use"]
    assert (call.name, call.input) == ("get_weather", {"city": "Paris"})
    assert tool_use.stop_reason == "tool_use"
    assert described.content[0].type == "text" and described.content[0].text
    assert image in json.dumps(fake.requests[-1].body)
    assert len(fake.requests) == 4


@pytest.mark.parametrize("status", [429, 503, 424])
async def test_throttling_and_errors_fail_over_to_the_other_cloud(
    status: int, gateway: ServerProcess, bedrock_fake: FakeBedrock, vertex_fake: FakeVertex
) -> None:
    bedrock_fake.always(Scenario.fail(status))
    vertex_fake.script(Scenario(text="Vertex took over."))

    async with sdk(gateway) as client:
        raw = await client.chat.completions.with_raw_response.create(
            model="cloud-failover", messages=[{"role": "user", "content": "Hello"}]
        )

    assert raw.parse().choices[0].message.content == "Vertex took over."
    assert raw.headers["x-routerx-provider"] == "vertex"
    assert raw.headers["x-routerx-attempts"].startswith(
        f"bedrock;failure;{status if status != 424 else 502}"
    )


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_vertex_throttling_and_errors_fail_over_to_bedrock(
    status: int, gateway: ServerProcess, bedrock_fake: FakeBedrock, vertex_fake: FakeVertex
) -> None:
    vertex_fake.always(Scenario.fail(status))
    bedrock_fake.script(Scenario(text="Bedrock took over."), Scenario(text="Bedrock took over."))
    messages: list[openai.types.chat.ChatCompletionMessageParam] = [
        {"role": "user", "content": "Hello"}
    ]

    async with sdk(gateway) as client:
        raw = await client.chat.completions.with_raw_response.create(
            model=f"vertex-failover-{status}", messages=messages
        )
        stream = await client.chat.completions.create(
            model=f"vertex-failover-{status}", messages=messages, stream=True
        )
        chunks = [chunk async for chunk in stream]

    assert raw.parse().choices[0].message.content == "Bedrock took over."
    assert raw.headers["x-routerx-provider"] == "bedrock"
    assert raw.headers["x-routerx-attempts"].startswith(f"vertex;failure;{status}")
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Bedrock took over."


async def test_a_target_whose_window_is_too_small_is_skipped(
    gateway: ServerProcess, bedrock_fake: FakeBedrock, vertex_fake: FakeVertex
) -> None:
    long_prompt = "word " * 400

    async with sdk(gateway) as client:
        raw = await client.chat.completions.with_raw_response.create(
            model="tiny-then-vertex", messages=[{"role": "user", "content": long_prompt}]
        )
        short = await client.chat.completions.with_raw_response.create(
            model="tiny-then-vertex", messages=[{"role": "user", "content": "Hi"}], max_tokens=10
        )

    assert raw.headers["x-routerx-provider"] == "vertex"
    assert raw.headers["x-routerx-attempts"].startswith("bedrock;skipped_context_window")
    assert short.headers["x-routerx-provider"] == "bedrock"
    assert len(bedrock_fake.requests) == 1


async def test_a_request_no_window_holds_is_refused_before_any_upstream_call(
    gateway: ServerProcess, bedrock_fake: FakeBedrock
) -> None:
    async with sdk(gateway) as client:
        with pytest.raises(openai.BadRequestError) as caught:
            await client.chat.completions.create(
                model="tiny-only", messages=[{"role": "user", "content": "Hi"}], max_tokens=500
            )

    error = caught.value.body
    assert isinstance(error, dict)
    assert error["code"] == "context_length_exceeded" and error["param"] == "messages"
    assert "200 tokens" in error["message"]
    assert bedrock_fake.requests == []


async def test_an_upstream_context_refusal_moves_to_a_larger_window(
    gateway: ServerProcess, bedrock_fake: FakeBedrock, vertex_fake: FakeVertex
) -> None:
    too_long = {"message": "Input is too long for requested model."}
    bedrock_fake.script(Scenario(status=400, body=too_long), Scenario(status=400, body=too_long))
    vertex_fake.script(Scenario(text="A larger window held it."))

    async with sdk(gateway) as client:
        raw = await client.chat.completions.with_raw_response.create(
            model="mid-then-large", messages=[{"role": "user", "content": "Hello"}]
        )
        with pytest.raises(openai.BadRequestError) as caught:  # no larger window after it
            await client.chat.completions.create(
                model="claude-on-bedrock", messages=[{"role": "user", "content": "Hello"}]
            )

    assert raw.parse().choices[0].message.content == "A larger window held it."
    assert raw.headers["x-routerx-attempts"].startswith("bedrock;client_error;400")
    error = caught.value.body
    assert isinstance(error, dict) and error["code"] == "context_length_exceeded"


async def test_latency_balancing_moves_load_off_the_slow_target(
    gateway: ServerProcess, bedrock_fake: FakeBedrock
) -> None:
    bedrock_fake.always(Scenario(delay_s=0.25), model=SLOW)
    answered: Counter[str] = Counter()
    reasons = set()

    async with sdk(gateway) as client:
        for _ in range(14):
            raw = await client.chat.completions.with_raw_response.create(
                model="latency-pick", messages=[{"role": "user", "content": "Hi"}]
            )
            answered[raw.headers["x-routerx-provider"]] += 1
            reasons.add(raw.headers.get("x-routerx-route-reason", ""))

    # each target is measured once, then the slow one is chosen only when explored (1 in 20)
    assert answered["bedrock"] <= 4 and answered["vertex"] >= 10
    assert any(reason.startswith("latency: fastest") for reason in reasons)
    logged: set[str] = set()  # the route trace in the request log says it too
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_S
    while not any(r.startswith("latency: fastest") for r in logged) and loop.time() < deadline:
        async with connected(DATABASE["url"]):
            rows = await RequestLog.filter(rule="rule-latency-pick")
        logged = {a.get("reason") or "" for row in rows for a in row.attempts}
        await asyncio.sleep(0.05)
    assert any(reason.startswith("latency: fastest") for reason in logged)


async def test_auto_hedge_fires_on_a_straggler_once_the_primary_is_measured(
    gateway: ServerProcess, bedrock_fake: FakeBedrock, vertex_fake: FakeVertex
) -> None:
    async with sdk(gateway) as client:
        for _ in range(20):  # the primary's p95 time to answer, measured by the gateway
            warm = await client.chat.completions.with_raw_response.create(
                model="auto-hedge", messages=[{"role": "user", "content": "Hi"}]
            )
            assert warm.headers["x-routerx-provider"] == "bedrock"
        bedrock_fake.script(Scenario(delay_s=3.0), model=FAST)
        vertex_fake.script(Scenario(text="The hedge won."))
        raw = await client.chat.completions.with_raw_response.create(
            model="auto-hedge", messages=[{"role": "user", "content": "Hi"}]
        )

    assert raw.headers["x-routerx-provider"] == "vertex"
    assert raw.parse().choices[0].message.content == "The hedge won."
    assert "vertex;success" in raw.headers["x-routerx-attempts"]
    await bedrock_fake.wait_for_disconnect()  # the straggler was cancelled
