"""`/v1/messages` and `/v1/messages/count_tokens` through a running gateway, with the official
anthropic SDK as the client: the demo mocks, translated OpenAI-compatible upstreams with
failover, and an Anthropic upstream answering natively."""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import anthropic
import pytest
import pytest_asyncio

from routerx.storage.config_version import bump_config_version
from routerx.storage.models import Provider, RequestLog, RoutingRule
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.upstream import Scenario, ToolCallSpec
from tests.gateway.test_privacy import dump_database, wait_for_rows
from tests.routing.failover_env import log_row, reset_breakers
from tests.support.database import connected, prepare
from tests.support.processes import ServerProcess, base_env, start_server

README = Path(__file__).resolve().parents[3] / "README.md"
DEMO_KEY = "demo_key_fake_123456"
ANTHROPIC_KEY = "sk-ant-test-messages-front"
FAILOVER_MODEL = "claude-failover"
NATIVE_MODEL = "claude-native"
FRAGILE_MODEL = "claude-fragile"
PROVIDER_SETTINGS = {
    "timeouts": {"connect_s": 1, "first_token_s": 1, "idle_s": 1, "total_s": 2},
    "breaker": {"consecutive_failures": 50, "open_s": 30, "max_open_s": 60},
}
USER = [{"role": "user", "content": "Hello"}]
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(32)).decode()
WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}
TOOL_CALL = ToolCallSpec("get_weather", {"city": "Paris"}, id="call_weather_1")


@dataclass
class Stack:
    gateway: ServerProcess
    database_url: str
    primary: FakeOpenAI
    secondary: FakeOpenAI
    anthropic: FakeAnthropic

    def reset(self) -> None:
        for fake in (self.primary, self.secondary, self.anthropic):
            fake.reset()


async def configure(database_url: str, stack: tuple[str, str, str]) -> None:
    primary, secondary, native = stack
    await prepare(database_url)
    async with connected(database_url):
        for name, url in (("primary", primary), ("secondary", secondary)):
            await Provider.create(
                name=name,
                type="openai_compatible",
                base_url=url + "/v1",
                capabilities=["text", "vision", "tools"],
                settings=PROVIDER_SETTINGS,
            )
        await Provider.create(
            name="fake-anthropic",
            type="anthropic",
            base_url=native,
            capabilities=["text", "vision", "tools"],
            secret_env="RX_TEST_ANTHROPIC_KEY",
            settings=PROVIDER_SETTINGS,
        )
        await RoutingRule.create(
            name="claude-failover",
            model_pattern=FAILOVER_MODEL,
            capability="text",
            on_transient="fail_over",  # a failure moves to the secondary at once
            targets=[
                {"provider": "primary", "model": "up-primary", "weight": 1, "tier": 0},
                {"provider": "secondary", "model": "up-secondary", "weight": 1, "tier": 1},
            ],
        )
        await Provider.create(
            name="fragile",
            type="openai_compatible",
            base_url=secondary + "/v1",
            capabilities=["text"],
            settings={**PROVIDER_SETTINGS, "breaker": {"consecutive_failures": 1, "open_s": 60}},
        )
        await RoutingRule.create(
            name="claude-fragile",
            model_pattern=FRAGILE_MODEL,
            capability="text",
            targets=[{"provider": "fragile", "model": "up-fragile", "tier": 0}],
        )
        await RoutingRule.create(
            name="claude-native",
            model_pattern=NATIVE_MODEL,
            capability="text",
            targets=[{"provider": "fake-anthropic", "model": "claude-upstream", "tier": 0}],
        )
        await bump_config_version()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    path: Path = tmp_path_factory.mktemp("messages") / "routerx.sqlite3"
    database_url = f"sqlite://{path}"
    async with (
        FakeOpenAI.running() as primary,
        FakeOpenAI.running() as secondary,
        FakeAnthropic.running() as native,
    ):
        await configure(database_url, (primary.url, secondary.url, native.url))
        env = base_env(database_url, ENABLE_REAL_CALLS="true", RX_TEST_ANTHROPIC_KEY=ANTHROPIC_KEY)
        gateway = await start_server("gateway", env)
        try:
            yield Stack(gateway, database_url, primary, secondary, native)
        finally:
            gateway.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def fresh(stack: Stack) -> Stack:
    stack.reset()
    await reset_breakers(stack.gateway.url)
    return stack


def client(stack: Stack, **options: Any) -> anthropic.AsyncAnthropic:
    options.setdefault("api_key", DEMO_KEY)
    return anthropic.AsyncAnthropic(base_url=stack.gateway.url, max_retries=0, **options)


# --- the demo data: claude-* names answered by the mocks ----------------------------------


async def test_plain_create_is_answered_by_the_demo_mock(stack: Stack) -> None:
    async with client(stack) as sdk:
        raw = await sdk.messages.with_raw_response.create(
            model="claude-sonnet-4-5", max_tokens=200, messages=USER
        )
        again = await sdk.messages.create(model="claude-sonnet-4-5", max_tokens=200, messages=USER)
    message = await raw.parse()
    assert message.type == "message" and message.role == "assistant"
    text = message.content[0]
    assert text.type == "text"
    assert text.text.startswith("Mock answer from mock-text (claude-sonnet-4-5)")
    assert again.content == message.content  # deterministic
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    row = await log_row(stack.database_url, raw.headers["x-request-id"])
    assert (row.api, row.model, row.rule, row.status) == (
        "messages",
        "claude-sonnet-4-5",
        "demo-claude-text",
        200,
    )


def readme_example() -> tuple[str, dict[str, str], dict[str, Any]]:
    """The README's /v1/messages curl example: path, headers and body, as written there."""
    text = README.read_text()
    section = text[text.index("### Anthropic Messages API (/v1/messages)") :]
    block = section[section.index("```bash") : section.index("```", section.index("```bash") + 7)]
    path = re.search(r"curl http://localhost:8080(\S+)", block)
    headers = dict(h.split(": ", 1) for h in re.findall(r'-H "([^"]+)"', block))
    body = re.search(r"-d '(.*)'", block, re.DOTALL)
    assert path is not None and body is not None
    return path.group(1), headers, json.loads(body.group(1))


async def test_the_readme_example_answers_out_of_the_box(stack: Stack) -> None:
    path, headers, body = readme_example()
    async with (
        aiohttp.ClientSession() as session,
        session.post(stack.gateway.url + path, json=body, headers=headers) as response,
    ):
        answer = await response.json()
    assert response.status == 200, answer
    assert headers["x-api-key"] == DEMO_KEY
    assert answer["type"] == "message" and answer["role"] == "assistant"
    assert answer["content"][0]["text"].startswith("Mock answer from mock-text")
    assert answer["stop_reason"] == "end_turn"


async def test_an_image_goes_to_the_vision_mock(stack: Stack) -> None:
    content: list[Any] = [
        {"type": "text", "text": "What is this?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
    ]
    async with client(stack) as sdk:
        message = await sdk.messages.create(
            model="claude-haiku-4-5",
            max_tokens=200,
            messages=[{"role": "user", "content": content}],
        )
    text = message.content[0]
    assert text.type == "text" and text.text.startswith("Mock answer from mock-vision")
    assert "1 image(s)" in text.text


async def test_streamed_demo_answer_and_bearer_auth(stack: Stack) -> None:
    async with (
        client(stack, api_key=None, auth_token=DEMO_KEY) as sdk,
        sdk.messages.stream(model="claude-sonnet-4-5", max_tokens=200, messages=USER) as stream,
    ):
        pieces = [text async for text in stream.text_stream]
        final = await stream.get_final_message()
    assert len(pieces) > 1
    text = final.content[0]
    assert text.type == "text" and "".join(pieces) == text.text
    assert text.text.startswith("Mock answer from mock-text")
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens > 0


async def test_count_tokens_is_the_gateways_estimate(stack: Stack) -> None:
    async with client(stack) as sdk:
        counted = await sdk.messages.count_tokens(model="claude-sonnet-4-5", messages=USER)
        with_tools = await sdk.messages.count_tokens(
            model="claude-sonnet-4-5", messages=USER, tools=[WEATHER]
        )
        answer = await sdk.messages.create(model="claude-sonnet-4-5", max_tokens=50, messages=USER)
    assert counted.input_tokens == answer.usage.input_tokens  # the mock reports the estimate
    assert with_tools.input_tokens > counted.input_tokens


# --- typed errors --------------------------------------------------------------------------


async def test_errors_are_the_sdks_typed_exceptions(stack: Stack) -> None:
    async with client(stack, api_key="not-a-routerx-key") as sdk:
        with pytest.raises(anthropic.AuthenticationError) as auth:
            await sdk.messages.create(model="claude-sonnet-4-5", max_tokens=10, messages=USER)
        with pytest.raises(anthropic.AuthenticationError):
            await sdk.messages.count_tokens(model="claude-sonnet-4-5", messages=USER)
    assert auth.value.body == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "Incorrect API key provided."},
    }
    async with client(stack) as sdk:
        with pytest.raises(anthropic.NotFoundError):
            await sdk.messages.create(model="no-such-model", max_tokens=10, messages=USER)
        with pytest.raises(anthropic.NotFoundError):
            await sdk.messages.count_tokens(model="no-such-model", messages=USER)
        with pytest.raises(anthropic.BadRequestError) as schema:
            await sdk.messages.count_tokens(
                model="claude-sonnet-4-5", messages=USER, extra_body={"max_tokens": 5}
            )
        with pytest.raises(anthropic.BadRequestError) as bad:
            await sdk.messages.create(
                model="claude-sonnet-4-5", max_tokens=10, messages=USER, extra_body={"top_k": 5}
            )
    assert "top_k" in str(bad.value)
    assert "max_tokens" in str(schema.value)


@pytest.mark.parametrize(
    ("body", "headers", "status", "kind"),
    [
        ({"model": "claude-sonnet-4-5", "messages": USER}, {}, 400, "invalid_request_error"),
        (b"{not json", {}, 400, "invalid_request_error"),
        (
            {"model": "claude-sonnet-4-5", "max_tokens": 5, "messages": USER},
            None,
            401,
            "authentication_error",
        ),
    ],
)
async def test_bad_requests_get_anthropic_error_bodies(
    stack: Stack, body: Any, headers: dict[str, str] | None, status: int, kind: str
) -> None:
    sent = {"anthropic-version": "2023-06-01", "content-type": "application/json"}
    if headers is not None:
        sent["x-api-key"] = DEMO_KEY
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with (
        aiohttp.ClientSession() as session,
        session.post(stack.gateway.url + "/v1/messages", data=data, headers=sent) as response,
    ):
        answer = await response.json()
    assert response.status == status
    assert answer["type"] == "error" and answer["error"]["type"] == kind
    assert answer["error"]["message"]


# --- translated upstreams: tools and failover ---------------------------------------------


async def test_tools_round_trip_through_a_translated_upstream(fresh: Stack) -> None:
    fresh.primary.script(Scenario(tool_call=TOOL_CALL))
    async with client(fresh) as sdk:
        message = await sdk.messages.create(
            model=FAILOVER_MODEL,
            max_tokens=100,
            messages=USER,
            tools=[WEATHER],
            tool_choice={"type": "auto"},
        )
    assert message.stop_reason == "tool_use"
    tool = message.content[0]
    assert tool.type == "tool_use"
    assert (tool.id, tool.name, tool.input) == ("call_weather_1", "get_weather", {"city": "Paris"})
    sent = fresh.primary.requests[-1].body
    assert sent["tools"][0]["function"]["name"] == "get_weather"
    assert sent["max_tokens"] == 100


async def test_streamed_tool_call_and_tool_result_turn(fresh: Stack) -> None:
    fresh.primary.script(Scenario(tool_call=TOOL_CALL))
    history: list[Any] = [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": [
                {
                    "type": "tool_use",
                    "id": "toolu_0",
                    "name": "get_weather",
                    "input": {"city": "Rome"},
                }
            ],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_0", "content": "21 C"}],
        },
    ]
    async with (
        client(fresh) as sdk,
        sdk.messages.stream(
            model=FAILOVER_MODEL, max_tokens=100, messages=history, tools=[WEATHER]
        ) as stream,
    ):
        final = await stream.get_final_message()
    tool = final.content[-1]
    assert tool.type == "tool_use" and tool.input == {"city": "Paris"}
    assert final.stop_reason == "tool_use"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (12, 7)
    sent = fresh.primary.requests[-1].body["messages"]
    assert sent[2] == {"role": "tool", "tool_call_id": "toolu_0", "content": "21 C"}


@pytest.mark.parametrize(
    "failure",
    [Scenario.fail(500), Scenario.fail(429, retry_after="1"), Scenario(hang=True)],
    ids=["5xx", "429", "stall"],
)
@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
async def test_primary_failure_before_the_first_event_fails_over(
    fresh: Stack, failure: Scenario, stream: bool
) -> None:
    fresh.primary.script(failure)
    fresh.secondary.script(Scenario(text="Answer from the secondary."))
    async with client(fresh) as sdk:
        if stream:
            async with sdk.messages.stream(
                model=FAILOVER_MODEL, max_tokens=50, messages=USER
            ) as events:
                final = await events.get_final_message()
        else:
            final = await sdk.messages.create(model=FAILOVER_MODEL, max_tokens=50, messages=USER)
    text = final.content[0]
    assert text.type == "text" and text.text == "Answer from the secondary."
    assert final.stop_reason == "end_turn"
    assert len(fresh.primary.requests) == 1 and len(fresh.secondary.requests) == 1


async def test_a_cut_after_the_first_event_is_an_error_event(fresh: Stack) -> None:
    fresh.primary.script(Scenario(text="one two three four five six", reset_after_chunks=3))
    fresh.secondary.script(Scenario(text="never used"))
    url = fresh.gateway.url + "/v1/messages"
    body = {"model": FAILOVER_MODEL, "max_tokens": 50, "messages": USER, "stream": True}
    headers = {"x-api-key": DEMO_KEY, "anthropic-version": "2023-06-01"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=body, headers=headers) as response,
    ):
        raw = await response.read()
    assert response.status == 200
    frames = [frame for frame in raw.decode().split("\n\n") if frame]
    names = [frame.split("\n", 1)[0].removeprefix("event: ") for frame in frames]
    assert names[0] == "message_start"
    assert "content_block_delta" in names
    assert names[-1] == "error" and "message_stop" not in names
    error = json.loads(frames[-1].split("\n", 1)[1].removeprefix("data: "))
    assert error["type"] == "error" and error["error"]["type"] == "api_error"
    assert fresh.secondary.requests == []
    async with client(fresh) as sdk:
        fresh.primary.script(Scenario(text="one two three four five six", reset_after_chunks=3))
        with pytest.raises(anthropic.APIStatusError):
            async with sdk.messages.stream(
                model=FAILOVER_MODEL, max_tokens=50, messages=USER
            ) as events:
                async for _ in events:
                    pass


async def test_every_attempt_failing_is_an_api_error(fresh: Stack) -> None:
    fresh.primary.always(Scenario.fail(503))
    fresh.secondary.always(Scenario.fail(503))
    async with client(fresh) as sdk:
        with pytest.raises(anthropic.InternalServerError) as caught:
            await sdk.messages.create(model=FAILOVER_MODEL, max_tokens=50, messages=USER)
    assert caught.value.status_code == 502
    body: Any = caught.value.body
    assert body["type"] == "error" and body["error"]["type"] == "api_error"
    assert body["error"]["message"].startswith("Every provider attempt failed.")


async def test_every_provider_unavailable_is_overloaded(fresh: Stack) -> None:
    fresh.secondary.always(Scenario.fail(500), model="up-fragile")
    async with client(fresh) as sdk:
        with pytest.raises(anthropic.InternalServerError):  # the failure that opens the breaker
            await sdk.messages.create(model=FRAGILE_MODEL, max_tokens=50, messages=USER)
        with pytest.raises(anthropic.OverloadedError) as caught:
            await sdk.messages.create(model=FRAGILE_MODEL, max_tokens=50, messages=USER)
    assert caught.value.status_code == 529
    assert int(caught.value.response.headers["retry-after"]) >= 1
    body: Any = caught.value.body
    assert body["error"]["type"] == "overloaded_error"


# --- an Anthropic upstream: native pass-through ------------------------------------------


NATIVE_BODY: dict[str, Any] = {
    "model": NATIVE_MODEL,
    "max_tokens": 4096,
    "system": [{"type": "text", "text": "Cached prompt.", "cache_control": {"type": "ephemeral"}}],
    "messages": [
        {"role": "user", "content": "Think first."},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "An earlier thought.", "signature": "sig-123"},
                {"type": "text", "text": "Earlier."},
            ],
        },
        {"role": "user", "content": "Again."},
    ],
    "thinking": {"type": "enabled", "budget_tokens": 2048},
}


async def test_an_anthropic_upstream_gets_the_clients_body_untouched(fresh: Stack) -> None:
    async with client(fresh) as sdk:
        message = await sdk.messages.create(**NATIVE_BODY)
    sent = fresh.anthropic.requests[-1]
    assert sent.body == {**NATIVE_BODY, "model": "claude-upstream"}
    assert sent.headers["x-api-key"] == ANTHROPIC_KEY  # the provider's key, never the client's
    assert message.id == FakeAnthropic.message_id
    assert message.usage.input_tokens == 12


async def test_an_anthropic_upstreams_events_are_relayed(fresh: Stack) -> None:
    fresh.anthropic.script(Scenario(tool_call=TOOL_CALL))
    async with (
        client(fresh) as sdk,
        sdk.messages.stream(**NATIVE_BODY, tools=[WEATHER]) as stream,
    ):
        final = await stream.get_final_message()
    assert fresh.anthropic.requests[-1].body["stream"] is True
    tool = final.content[0]
    assert tool.type == "tool_use" and tool.input == {"city": "Paris"}
    assert final.stop_reason == "tool_use"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (12, 7)


async def test_what_only_anthropic_takes_reaches_an_anthropic_upstream(fresh: Stack) -> None:
    pdf = base64.b64encode(b"%PDF-1.4 tiny").decode()
    document = {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": pdf},
        "citations": {"enabled": True},
    }
    content = [
        document,
        {"type": "text", "text": "Summarise.", "cache_control": {"type": "ephemeral"}},
    ]
    body = {
        **NATIVE_BODY,
        "top_k": 5,
        "messages": [{"role": "user", "content": content}],
        "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 1}],
    }
    headers = {"x-api-key": DEMO_KEY, "anthropic-version": "2023-06-01"}
    async with aiohttp.ClientSession() as session:
        async with session.post(
            fresh.gateway.url + "/v1/messages", json=body, headers=headers
        ) as response:
            answer = await response.json()
        assert response.status == 200, answer
        assert fresh.anthropic.requests[-1].body == {**body, "model": "claude-upstream"}
        async with session.post(
            fresh.gateway.url + "/v1/messages",
            json={**body, "model": FAILOVER_MODEL},
            headers=headers,
        ) as response:
            refused = await response.json()
    assert response.status == 400
    assert refused["error"]["type"] == "invalid_request_error"
    assert "`top_k`" in refused["error"]["message"]
    assert fresh.primary.requests == [] and fresh.secondary.requests == []


# --- privacy ------------------------------------------------------------------------------


async def test_canary_is_in_no_row_and_no_log_line(stack: Stack) -> None:
    canary = f"CANARY-{uuid.uuid4().hex}"
    text = {"role": "user", "content": f"secret prompt {canary}"}
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}
    result = [{"type": "tool_result", "tool_use_id": "t", "content": canary}]
    bodies: list[dict[str, Any]] = [
        {"model": "claude-sonnet-4-5", "max_tokens": 50, "messages": [text]},
        {"model": "claude-sonnet-4-5", "max_tokens": 50, "stream": True, "messages": [text]},
        {
            "model": "claude-sonnet-4-5",
            "max_tokens": 50,
            "system": canary,
            "messages": [{"role": "user", "content": [{"type": "text", "text": canary}, image]}],
        },
        {
            "model": "claude-sonnet-4-5",
            "max_tokens": 50,
            "messages": [
                text,
                {
                    "role": "assistant",
                    "content": [
                        {"type": "tool_use", "id": "t", "name": "f", "input": {"q": canary}}
                    ],
                },
                {"role": "user", "content": result},
            ],
        },
        {"model": "claude-sonnet-4-5", "max_tokens": 50, "top_k": 3, "messages": [text]},  # 400
        {"model": "other-model", "max_tokens": 50, "messages": [text]},  # 404
    ]
    headers = {"x-api-key": DEMO_KEY, "anthropic-version": "2023-06-01"}
    async with connected(stack.database_url):
        rows_before = await RequestLog.all().count()
    statuses = []
    async with aiohttp.ClientSession() as session:
        for body in bodies:
            async with session.post(
                stack.gateway.url + "/v1/messages", json=body, headers=headers
            ) as response:
                await response.read()
                statuses.append(response.status)
        count = {"model": "claude-sonnet-4-5", "messages": [text]}
        async with session.post(
            stack.gateway.url + "/v1/messages/count_tokens", json=count, headers=headers
        ) as response:
            assert response.status == 200
    assert statuses == [200, 200, 200, 200, 400, 404]
    await wait_for_rows(stack.database_url, rows_before + len(bodies))
    dump = await dump_database(stack.database_url)
    assert canary not in dump
    assert canary.lower() not in dump.lower()
    assert canary not in stack.gateway.output()
