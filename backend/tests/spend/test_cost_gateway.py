"""Cost through the real gateway against a strict fake OpenAI upstream: non-stream and stream
answers priced from their usage details, a cut stream marked estimated, an unpriced model
counted as unknown, the optional cost header and the cost metrics."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest_asyncio

from routerx.storage.config_version import bump_config_version
from routerx.storage.models import Provider, RoutingRule, Tenant
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.upstream import Scenario
from tests.routing.failover_env import AUTH, PROVIDER_SETTINGS, log_row
from tests.support.database import connected, prepare
from tests.support.processes import ServerProcess, base_env, start_server


class Env:
    def __init__(self, gateway: ServerProcess, database_url: str, upstream: FakeOpenAI) -> None:
        self.gateway, self.database_url, self.upstream = gateway, database_url, upstream


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(tmp_path_factory: Any) -> AsyncIterator[Env]:
    database_url = f"sqlite://{tmp_path_factory.mktemp('cost') / 'rx.sqlite3'}"
    async with FakeOpenAI.running() as upstream:
        await prepare(database_url)
        async with connected(database_url):
            for name, kind in (
                ("openai-fake", "openai_compatible"),
                ("openai-native", "openai"),
                ("openai-second", "openai_compatible"),
            ):
                await Provider.create(
                    name=name,
                    type=kind,
                    base_url=upstream.url + "/v1",
                    capabilities=["text", "tools"],
                    settings=PROVIDER_SETTINGS,
                )
            rules = (
                ("priced", "openai-fake", "gpt-4.1"),
                ("unpriced", "openai-fake", "my-finetune"),
                ("native", "openai-native", "gpt-4.1"),
            )
            for pattern, provider, model in rules:
                await RoutingRule.create(
                    name=pattern,
                    model_pattern=pattern,
                    capability="text",
                    targets=[{"provider": provider, "model": model, "weight": 1, "tier": 0}],
                )
            await RoutingRule.create(
                name="rescued",
                model_pattern="rescued",
                capability="text",
                stream_rescue="continue",
                targets=[
                    {"provider": "openai-fake", "model": "gpt-4.1", "weight": 1, "tier": 0},
                    {"provider": "openai-second", "model": "gpt-4.1-mini", "weight": 1, "tier": 1},
                ],
            )
            await Tenant.filter(name="demo").update(allowed_models=[])
            await bump_config_version()
        gateway = await start_server(
            "gateway", base_env(database_url, ENABLE_REAL_CALLS="true", COST_HEADER="true")
        )
        try:
            yield Env(gateway, database_url, upstream)
        finally:
            gateway.stop()


async def post(env: Env, model: str, stream: bool = False) -> tuple[int, dict[str, str], str]:
    body = {"model": model, "messages": [{"role": "user", "content": "hello"}], "stream": stream}
    async with (
        aiohttp.ClientSession() as session,
        session.post(env.gateway.url + "/v1/chat/completions", json=body, headers=AUTH) as answer,
    ):
        return answer.status, {k.lower(): v for k, v in answer.headers.items()}, await answer.text()


async def metric(env: Env, name: str, **labels: str) -> float:
    async with aiohttp.ClientSession() as session, session.get(env.gateway.url + "/metrics") as r:
        text = await r.text()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def test_a_cached_prompt_is_priced_exactly_and_in_the_header(env: Env) -> None:
    env.upstream.script(Scenario(prompt_tokens=2000, completion_tokens=100, cached_tokens=1500))
    status, headers, _ = await post(env, "priced")
    assert status == 200
    # 500 plain x $2.00 + 1500 cached x $0.50 + 100 x $8.00 per million tokens
    assert headers["x-routerx-cost-usd"] == "0.00255"
    row = await log_row(env.database_url, headers["x-request-id"])
    assert row.cost_picousd == 2_550_000_000 and not row.cost_estimated
    assert row.cached_tokens == 1500
    assert row.attempts[0]["cost_picousd"] == 2_550_000_000


async def test_a_stream_with_reasoning_is_priced_from_its_usage_chunk(env: Env) -> None:
    before = await metric(env, "routerx_cost_usd_total", provider="openai-fake", model="gpt-4.1")
    env.upstream.script(Scenario(prompt_tokens=100, completion_tokens=1100, reasoning_tokens=1000))
    status, headers, text = await post(env, "priced", stream=True)
    assert status == 200 and text.rstrip().endswith("data: [DONE]")
    assert "x-routerx-cost-usd" not in headers  # a stream's cost is not known at its headers
    row = await log_row(env.database_url, headers["x-request-id"])
    assert row.cost_picousd == 9_000_000_000  # 100 x 2.00 + 1100 x 8.00 (reasoning as output)
    assert row.reasoning_tokens == 1000 and not row.cost_estimated
    after = await metric(env, "routerx_cost_usd_total", provider="openai-fake", model="gpt-4.1")
    assert round(after - before, 9) == 0.009


async def test_a_stream_cut_before_its_usage_is_estimated_and_marked(env: Env) -> None:
    env.upstream.script(Scenario(reset_after_chunks=3))
    status, headers, _ = await post(env, "priced", stream=True)
    assert status == 200
    row = await log_row(env.database_url, headers["x-request-id"])
    assert row.error_type == "stream_interrupted"
    assert row.cost_estimated and row.attempts[0]["cost_estimated"] is True
    assert row.cost_picousd is not None and row.cost_picousd > 0
    expected = row.prompt_tokens * 2_000_000 + row.completion_tokens * 8_000_000
    assert row.cost_picousd == expected


async def test_a_rescued_stream_bills_both_upstreams(env: Env) -> None:
    # The first upstream is cut before its usage (estimated); the second continues the answer
    # and reports its own: each is priced at its own model's rates, and the request is the sum.
    env.upstream.script(Scenario(reset_after_chunks=3), model="gpt-4.1")
    env.upstream.script(Scenario(prompt_tokens=50, completion_tokens=20), model="gpt-4.1-mini")
    status, headers, text = await post(env, "rescued", stream=True)
    assert status == 200 and text.rstrip().endswith("data: [DONE]")
    row = await log_row(env.database_url, headers["x-request-id"])
    cut, rescue = row.attempts
    assert (cut["outcome"], rescue["outcome"]) == ("interrupted", "rescued")
    assert rescue["cost_picousd"] == 50 * 400_000 + 20 * 1_600_000  # gpt-4.1-mini's rates
    assert "cost_estimated" not in rescue and cut["cost_estimated"] is True
    cut_prompt, cut_completion = row.prompt_tokens - 50, row.completion_tokens - 20
    assert cut_prompt > 0 and cut_completion > 0
    assert cut["cost_picousd"] == cut_prompt * 2_000_000 + cut_completion * 8_000_000
    assert row.cost_picousd == cut["cost_picousd"] + rescue["cost_picousd"]
    assert row.cost_estimated


async def test_a_model_without_a_price_costs_unknown_not_zero(env: Env) -> None:
    before = await metric(env, "routerx_cost_unknown_total", provider="openai-fake")
    status, headers, _ = await post(env, "unpriced")
    assert status == 200 and headers["x-routerx-cost-usd"] == "unknown"
    row = await log_row(env.database_url, headers["x-request-id"])
    assert row.cost_picousd is None and "cost_picousd" not in row.attempts[0]
    assert await metric(env, "routerx_cost_unknown_total", provider="openai-fake") == before + 1
    assert re.fullmatch(r"[0-9a-f]+", headers["x-request-id"])


async def test_a_native_responses_answer_is_priced_with_its_details(env: Env) -> None:
    env.upstream.script(Scenario(prompt_tokens=2000, completion_tokens=100, cached_tokens=1500))
    body = {"model": "native", "input": "hi", "store": True, "previous_response_id": "resp_x"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(env.gateway.url + "/v1/responses", json=body, headers=AUTH) as answer,
    ):
        assert answer.status == 200, await answer.text()
        request_id = answer.headers["x-request-id"]
    row = await log_row(env.database_url, request_id)
    assert row.provider == "openai-native" and row.api == "responses"
    assert row.cost_picousd == 2_550_000_000  # the cached 1500 at $0.50, not at $2.00
