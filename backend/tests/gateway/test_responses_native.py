"""/v1/responses to OpenAI and Azure targets: the client's body goes upstream to their own
Responses API with only `model` replaced (so stored state and built-in tools work there), and
the answer and events come back unchanged; translated targets never see such requests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import openai
import pytest
import pytest_asyncio
from openai import AsyncOpenAI

from routerx.storage.config_version import bump_config_version
from routerx.storage.models import Provider, RoutingRule, Tenant
from tests.conftest import create_pg_database, drop_pg_database
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.upstream import Scenario, ToolCallSpec
from tests.routing.failover_env import INTERNAL, PROVIDER_SETTINGS, log_row, start_gateway
from tests.support.database import connected, prepare
from tests.support.processes import ServerProcess

KEY = "demo_key_fake_123456"
TEXT = "Hello from the fake upstream."
ALL = ["text", "vision", "tools", "json"]
RULES = {
    "native-model": [("oai", "up-oai"), ("compat", "up-compat")],
    "azure-model": [("az", "up-az")],
    "mixed-model": [("compat", "up-compat"), ("oai", "up-oai")],
    "compat-model": [("compat", "up-compat")],
}


@dataclass
class Env:
    gateway: ServerProcess
    database_url: str
    compat: FakeOpenAI  # an OpenAI-compatible server: Chat Completions only
    native: FakeOpenAI  # OpenAI and Azure: the Responses API too


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env() -> AsyncIterator[Env]:
    database_url = await create_pg_database()
    try:
        async with FakeOpenAI.running() as compat, FakeOpenAI.running() as native:
            await prepare(database_url)
            async with connected(database_url):
                providers = (
                    ("compat", "openai_compatible", compat.url + "/v1"),
                    ("oai", "openai", native.url + "/v1"),
                    ("az", "azure", native.url),
                )
                for name, kind, base_url in providers:
                    await Provider.create(
                        name=name,
                        type=kind,
                        base_url=base_url,
                        capabilities=ALL,
                        settings=PROVIDER_SETTINGS,
                    )
                for model, targets in RULES.items():
                    await RoutingRule.create(
                        name=model,
                        model_pattern=model,
                        capability="text",
                        on_transient="fail_over",  # a failure moves to the next target at once
                        targets=[
                            {"provider": p, "model": m, "weight": 1, "tier": tier}
                            for tier, (p, m) in enumerate(targets)
                        ],
                    )
                await Tenant.filter(name="demo").update(allowed_models=[])
                await bump_config_version()
            gateway = await start_gateway(database_url)
            try:
                yield Env(gateway, database_url, compat, native)
            finally:
                gateway.stop()
    finally:
        await drop_pg_database(database_url)


@pytest_asyncio.fixture(loop_scope="session")
async def fresh(env: Env) -> Env:
    env.compat.reset()
    env.native.reset()
    async with aiohttp.ClientSession() as session:
        for name in ("compat", "oai", "az"):
            async with session.post(
                env.gateway.url + f"/internal/breakers/{name}/reset", headers=INTERNAL
            ) as response:
                assert response.status == 204
    return env


def client(env: Env) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=env.gateway.url + "/v1", api_key=KEY, max_retries=0)


STATEFUL = {
    "store": True,
    "previous_response_id": "resp_earlier",
    "tools": [{"type": "web_search"}],
}


async def test_an_openai_target_gets_the_body_as_sent(fresh: Env) -> None:
    raw = await client(fresh).responses.with_raw_response.create(
        model="native-model",
        input="hi",
        **STATEFUL,  # type: ignore[arg-type]
    )
    response = raw.parse()
    assert response.id == "resp_fake1"  # the upstream's own Response object
    assert response.output_text == TEXT
    [sent] = fresh.native.requests
    assert sent.path == "/v1/responses"
    assert sent.body == {"model": "up-oai", "input": "hi", **STATEFUL}
    assert not fresh.compat.requests
    row = await log_row(fresh.database_url, raw.headers["x-request-id"])
    assert (row.api, row.provider, row.prompt_tokens, row.completion_tokens) == (
        "responses",
        "oai",
        12,
        7,
    )


async def test_a_native_stream_is_relayed_unchanged(fresh: Env) -> None:
    fresh.native.script(Scenario(tool_call=ToolCallSpec("weather", {"city": "Oslo"})))
    stream = await client(fresh).responses.create(
        model="native-model", input="hi", stream=True, store=True
    )
    events = [event async for event in stream]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert [e.type for e in events][:3] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
    ]
    assert events[-1].type == "response.completed"
    assert events[-1].response.id == "resp_fake1"  # type: ignore[union-attr]
    [call] = events[-1].response.output  # type: ignore[union-attr]
    assert call.type == "function_call" and call.arguments == '{"city": "Oslo"}'
    assert fresh.native.requests[-1].body["stream"] is True


async def test_an_azure_target_gets_its_v1_responses_path(fresh: Env) -> None:
    response = await client(fresh).responses.create(model="azure-model", input="hi", store=True)
    assert response.output_text == TEXT
    [sent] = fresh.native.requests
    assert sent.path == "/openai/v1/responses" and sent.body["model"] == "up-az"


async def test_a_stateful_request_skips_translated_targets(fresh: Env) -> None:
    response = await client(fresh).responses.create(
        model="mixed-model", input="hi", previous_response_id="resp_earlier"
    )
    assert response.output_text == TEXT
    assert not fresh.compat.requests and fresh.native.requests[-1].body["model"] == "up-oai"
    # The same route translates a request that needs nothing the upstream keeps.
    translated = await client(fresh).responses.create(model="mixed-model", input="hi")
    assert translated.output_text == TEXT and len(fresh.native.requests) == 1
    assert fresh.compat.requests[-1].body["messages"] == [{"role": "user", "content": "hi"}]


async def test_a_stateful_request_with_no_native_target_is_a_400(fresh: Env) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await client(fresh).responses.create(model="compat-model", input="hi", store=True)
    body = caught.value.body
    assert isinstance(body, dict) and body["param"] == "store"
    assert "OpenAI or Azure OpenAI targets" in body["message"]
    assert not fresh.compat.requests and not fresh.native.requests


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
async def test_a_failing_native_target_falls_back_to_translation(fresh: Env, stream: bool) -> None:
    fresh.native.script(Scenario.fail(500))
    api = client(fresh)
    if stream:
        events = [
            e
            async for e in await api.responses.create(model="native-model", input="hi", stream=True)
        ]
        assert [e.sequence_number for e in events] == list(range(len(events)))
        final = events[-1].response  # type: ignore[union-attr]
    else:
        final = await api.responses.create(model="native-model", input="hi")
    assert final.output_text == TEXT
    assert fresh.compat.requests[-1].body["model"] == "up-compat"
    assert fresh.native.requests[-1].path == "/v1/responses"


async def test_a_native_stream_cut_ends_with_the_error_event(fresh: Env) -> None:
    # created, in_progress, output_item.added, content_part.added, then two text deltas: the
    # events before the first delta carry nothing, a cut among them would be failed over.
    fresh.native.script(Scenario(reset_after_chunks=6))
    stream = await client(fresh).responses.create(model="native-model", input="hi", stream=True)
    events = [event async for event in stream]
    assert [e.type for e in events][-2:] == ["error", "response.failed"]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[-1].response.id == "resp_fake1"  # type: ignore[union-attr]
    assert not fresh.compat.requests
