"""`POST /v1/embeddings` through a real RouterX gateway (ENABLE_REAL_CALLS=true), with the
official openai SDK as the client: the demo mock, the OpenAI and Gemini adapters against their
fake upstreams, failover, limits, errors, and the canary privacy check."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import openai
import pytest
import pytest_asyncio

from routerx.auth.api_keys import digest_key, display_prefix
from routerx.storage.config_version import bump_config_version
from routerx.storage.models import ApiKey, Provider, RequestLog, RoutingRule, Tenant
from routerx.wire.embeddings import decode_base64_vector
from tests.fakes.gemini_server import FakeGemini, fake_values
from tests.fakes.openai_server import FakeOpenAI, fake_vector
from tests.fakes.upstream import Scenario
from tests.gateway.test_privacy import dump_database
from tests.support.database import connected, prepare
from tests.support.processes import ServerProcess, base_env, start_server

DEMO_KEY = "demo_key_fake_123456"
LIMITED_KEY = "rx_embeddings_limited_key_0001"
OPENAI_KEY = "sk-test-embeddings-through-gateway"
GEMINI_KEY = "gemini-test-embeddings-through-gateway"
DEMO_MODEL = "text-embedding-3-small"
KEY_TPM = 100


async def _configure(database_url: str, openai_url: str, gemini_url: str) -> None:
    """Demo data, an OpenAI and a Gemini provider on the fakes, and rules for them."""
    await prepare(database_url)
    async with connected(database_url):
        await Provider.create(
            name="fake-openai",
            type="openai",
            base_url=f"{openai_url}/v1",
            capabilities=["text", "embeddings"],
            secret_env="RX_TEST_OPENAI_KEY",
        )
        await Provider.create(
            name="fake-gemini",
            type="gemini",
            base_url=gemini_url,
            capabilities=["embeddings"],
            secret_env="RX_TEST_GEMINI_KEY",
        )
        await RoutingRule.create(
            name="openai-embeddings",
            model_pattern="embed-openai",
            capability="embeddings",
            targets=[{"provider": "fake-openai", "model": "text-embedding-3-large", "tier": 0}],
        )
        await RoutingRule.create(
            name="failover-embeddings",
            model_pattern="embed-failover",
            capability="embeddings",
            on_transient="fail_over",  # a failure moves to the secondary at once
            targets=[
                {"provider": "fake-openai", "model": "text-embedding-3-large", "tier": 0},
                {"provider": "fake-gemini", "model": "gemini-embedding-001", "tier": 1},
            ],
        )
        tenant = await Tenant.get(name="demo")
        await ApiKey.create(
            tenant=tenant,
            name="limited",
            prefix=display_prefix(LIMITED_KEY),
            digest=digest_key(LIMITED_KEY),
            tpm_limit=KEY_TPM,
        )
        await Tenant.filter(name="demo").update(allowed_models=[])
        await bump_config_version()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def gateway(
    tmp_path_factory: pytest.TempPathFactory, openai_server: FakeOpenAI, gemini_server: FakeGemini
) -> AsyncIterator[tuple[ServerProcess, str]]:
    path: Path = tmp_path_factory.mktemp("embeddings-gateway") / "routerx.sqlite3"
    database_url = f"sqlite://{path}"
    await _configure(database_url, openai_server.url, gemini_server.url)
    env = base_env(
        database_url,
        ENABLE_REAL_CALLS="true",
        RX_TEST_OPENAI_KEY=OPENAI_KEY,
        RX_TEST_GEMINI_KEY=GEMINI_KEY,
    )
    server = await start_server("gateway", env)
    try:
        yield server, database_url
    finally:
        server.stop()


def sdk(gateway: tuple[ServerProcess, str], key: str = DEMO_KEY) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=gateway[0].url + "/v1", api_key=key, max_retries=0)


async def post(
    gateway: tuple[ServerProcess, str], body: Any, request_id: str | None = None
) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {DEMO_KEY}"}
    if request_id is not None:
        headers["x-request-id"] = request_id
    async with (
        aiohttp.ClientSession() as session,
        session.post(gateway[0].url + "/v1/embeddings", json=body, headers=headers) as response,
    ):
        return response.status, await response.json()


async def test_sdk_default_float_base64_dimensions_and_lists(
    gateway: tuple[ServerProcess, str],
) -> None:
    async with sdk(gateway) as client:
        raw = await client.embeddings.with_raw_response.create(model=DEMO_MODEL, input="hello")
        default = raw.parse()  # the SDK asks for base64 and decodes it itself
        floats = await client.embeddings.create(
            model=DEMO_MODEL, input="hello", encoding_format="float"
        )
        encoded = await client.embeddings.create(
            model=DEMO_MODEL, input="hello", encoding_format="base64"
        )
        short = await client.embeddings.create(model=DEMO_MODEL, input="hello", dimensions=256)
        several = await client.embeddings.create(model=DEMO_MODEL, input=["a", "b", "hello"])
        tokens = await client.embeddings.create(model=DEMO_MODEL, input=[[1, 2, 3], [4]])

    assert raw.headers["x-routerx-provider"] == "mock-embeddings"
    vector = floats.data[0].embedding
    assert len(vector) == 1536
    assert sum(x * x for x in vector) == pytest.approx(1.0)
    assert default.data[0].embedding == pytest.approx(vector, abs=1e-7)  # float32 of the same
    assert isinstance(encoded.data[0].embedding, str)
    assert decode_base64_vector(encoded.data[0].embedding) == pytest.approx(vector, abs=1e-7)
    assert len(short.data[0].embedding) == 256
    assert [item.index for item in several.data] == [0, 1, 2]
    assert several.data[2].embedding == pytest.approx(vector, abs=1e-7)
    assert len(tokens.data) == 2
    assert floats.model == DEMO_MODEL and floats.object == "list"
    assert floats.usage.prompt_tokens == floats.usage.total_tokens == 2


async def test_openai_upstream_relays_base64_and_usage(
    gateway: tuple[ServerProcess, str], openai_server: FakeOpenAI
) -> None:
    openai_server.reset()
    openai_server.script(Scenario(prompt_tokens=9))
    async with sdk(gateway) as client:
        answer = await client.embeddings.create(
            model="embed-openai", input=["one", "two"], dimensions=3, user="end-user-1"
        )

    sent = openai_server.requests[-1]
    assert sent.path == "/v1/embeddings"
    assert sent.headers["Authorization"] == f"Bearer {OPENAI_KEY}"
    assert sent.body == {
        "model": "text-embedding-3-large",
        "input": ["one", "two"],
        "dimensions": 3,
        "encoding_format": "base64",
        "user": "end-user-1",
    }
    assert [item.embedding for item in answer.data] == [fake_vector(0, 3), fake_vector(1, 3)]
    assert (answer.usage.prompt_tokens, answer.usage.total_tokens) == (9, 9)


async def test_primary_5xx_fails_over_to_the_secondary(
    gateway: tuple[ServerProcess, str], openai_server: FakeOpenAI, gemini_server: FakeGemini
) -> None:
    openai_server.reset()
    gemini_server.reset()
    openai_server.always(Scenario.fail(503))
    async with sdk(gateway) as client:
        raw = await client.embeddings.with_raw_response.create(
            model="embed-failover", input=["alpha", "beta"], encoding_format="float"
        )
    answer = raw.parse()

    assert raw.headers["x-routerx-provider"] == "fake-gemini"
    assert raw.headers["x-routerx-attempts"] == "fake-openai;failure;503,fake-gemini;success;200"
    assert [item.embedding for item in answer.data] == [
        fake_values("alpha", 4),
        fake_values("beta", 4),
    ]
    assert len(openai_server.requests) == 1
    assert gemini_server.requests[-1].path == (
        "/v1beta/models/gemini-embedding-001:batchEmbedContents"
    )
    assert gemini_server.requests[-1].headers["x-goog-api-key"] == GEMINI_KEY
    openai_server.reset()


@pytest.mark.parametrize(
    ("body", "status", "param", "code"),
    [
        (
            {"model": DEMO_MODEL, "input": "x", "stream": True},
            400,
            "stream",
            "unsupported_parameter",
        ),
        ({"model": DEMO_MODEL, "input": []}, 400, "input", None),
        (
            {"model": DEMO_MODEL, "input": "x", "encoding_format": "int8"},
            400,
            "encoding_format",
            None,
        ),
        ({"model": DEMO_MODEL, "input": ["x"] * 2049}, 400, "input", "too_many_inputs"),
        ({"model": "gpt-4.1-mini", "input": "x"}, 400, "model", "capability_not_supported"),
        ({"model": "no-such-model", "input": "x"}, 404, "model", "model_not_found"),
    ],
)
async def test_bad_requests_are_clear_openai_errors(
    gateway: tuple[ServerProcess, str],
    body: dict[str, Any],
    status: int,
    param: str,
    code: str | None,
) -> None:
    answered, answer = await post(gateway, body)

    assert answered == status, answer
    assert (answer["error"]["param"], answer["error"]["code"]) == (param, code)


async def test_the_sdk_sees_a_missing_capability_as_a_bad_request(
    gateway: tuple[ServerProcess, str],
) -> None:
    async with sdk(gateway) as client:
        with pytest.raises(openai.BadRequestError) as caught:
            await client.embeddings.create(model="gpt-4.1-mini", input="x")
    assert caught.value.code == "capability_not_supported"


async def test_token_limits_count_the_input_tokens(gateway: tuple[ServerProcess, str]) -> None:
    async with sdk(gateway, LIMITED_KEY) as client:
        small = await client.embeddings.create(model=DEMO_MODEL, input="short")
        with pytest.raises(openai.RateLimitError):  # about 150 tokens, over the key's 100 / min
            await client.embeddings.create(model=DEMO_MODEL, input="word " * 120)
    assert small.usage.total_tokens == 2


async def _rows(database_url: str, ids: list[str], deadline_s: float = 10.0) -> list[RequestLog]:
    started = time.monotonic()
    async with connected(database_url):
        while len(rows := await RequestLog.filter(client_request_id__in=ids).order_by("id")) < len(
            ids
        ):
            assert time.monotonic() - started < deadline_s, f"{len(rows)} of {len(ids)} rows"
            await asyncio.sleep(0.05)
        return rows


async def test_no_input_and_no_vector_in_rows_logs_or_metrics(
    gateway: tuple[ServerProcess, str], openai_server: FakeOpenAI
) -> None:
    server, database_url = gateway
    openai_server.reset()
    canary = f"CANARY-{uuid.uuid4().hex}"
    ids = [f"privacy-{uuid.uuid4().hex[:8]}-{n}" for n in range(5)]
    async with sdk(gateway) as client:
        mocked = await client.embeddings.create(
            model=DEMO_MODEL,
            input=[f"secret {canary}", canary],
            encoding_format="float",
            extra_headers={"x-request-id": ids[0]},
        )
        await client.embeddings.create(
            model="embed-openai", input=f"secret {canary}", extra_headers={"x-request-id": ids[1]}
        )
    bad_bodies = (
        {"model": DEMO_MODEL, "input": [canary, 5]},
        {"model": "no-such-model", "input": canary},
        {"model": DEMO_MODEL, "input": canary, "stream": True},
    )
    statuses = [
        (await post(gateway, body, request_id))[0]
        for body, request_id in zip(bad_bodies, ids[2:], strict=True)
    ]
    assert statuses == [400, 404, 400]
    async with aiohttp.ClientSession() as session, session.get(server.url + "/metrics") as metrics:
        exposition = await metrics.text()

    rows = await _rows(database_url, ids)
    by_id = {row.client_request_id: row for row in rows}
    assert [by_id[i].status for i in ids] == [200, 200, 400, 404, 400]
    assert {by_id[i].capability for i in ids[:2]} == {"embeddings"}
    assert {by_id[i].api for i in ids} == {"embeddings"}
    assert by_id[ids[0]].total_tokens == mocked.usage.total_tokens
    assert (by_id[ids[0]].provider, by_id[ids[1]].provider) == ("mock-embeddings", "fake-openai")
    values = [repr(v)[:10] for v in mocked.data[0].embedding[:20]]
    dump = await dump_database(database_url)
    output = server.output()
    for text in (dump, output, exposition):
        assert canary not in text and canary.lower() not in text.lower()
        assert not any(value in text for value in values)
