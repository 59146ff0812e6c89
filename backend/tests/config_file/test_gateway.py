"""Through a real gateway against fake upstreams: a LiteLLM config, imported and applied, routes as
LiteLLM did (load balancing, fallback), and a re-applied file steers the gateway within 2 s."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest_asyncio
import yaml

from routerx.config_file.apply import apply_file
from routerx.config_file.export import render_yaml
from routerx.config_file.litellm import import_litellm
from routerx.config_file.loader import load_text
from tests.config_file.litellm_configs import AZURE_AND_FALLBACKS
from tests.config_file.test_litellm import fill
from tests.conftest import create_pg_database, drop_pg_database
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.upstream import Scenario
from tests.support.database import connected, prepare
from tests.support.processes import ServerProcess, base_env, start_server

MASTER = {"Authorization": "Bearer sk-1234"}
KEYS = {"AZURE_API_KEY_EU": "eu-key", "AZURE_API_KEY_CA": "ca-key", "VLLM_API_KEY": "vllm-key"}


@dataclass
class Env:
    gateway: ServerProcess
    database_url: str
    eu: FakeOpenAI
    ca: FakeOpenAI
    backup: FakeOpenAI
    routerx_yaml: str
    names: dict[str, str]  # eu, ca, backup -> the provider the importer made for it


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env() -> AsyncIterator[Env]:
    database_url = await create_pg_database()
    try:
        async with (
            FakeOpenAI.running() as eu,
            FakeOpenAI.running() as ca,
            FakeOpenAI.running() as backup,
        ):
            litellm = fill(
                AZURE_AND_FALLBACKS,
                {"azure_eu": eu.url, "azure_ca": ca.url, "compatible": backup.url},
            )
            imported = import_litellm(yaml.safe_load(litellm), "config.yaml")
            routerx_yaml = render_yaml(imported.document)
            by_url = {p.base_url: p.name for p in imported.document.providers}
            names = {
                "eu": by_url[eu.url],
                "ca": by_url[ca.url],
                "backup": by_url[backup.url + "/v1"],
            }
            await prepare(database_url, seed=False)
            async with connected(database_url):
                await apply_file(load_text(routerx_yaml, "routerx.yaml"), actor="tester")
            gateway = await start_server(
                "gateway", base_env(database_url, ENABLE_REAL_CALLS="true", **KEYS)
            )
            try:
                yield Env(gateway, database_url, eu, ca, backup, routerx_yaml, names)
            finally:
                gateway.stop()
    finally:
        await drop_pg_database(database_url)


async def chat(env: Env, model: str = "gpt-4o") -> tuple[int, str | None]:
    body = {"model": model, "messages": [{"role": "user", "content": "hello"}]}
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            env.gateway.url + "/v1/chat/completions", json=body, headers=MASTER
        ) as response,
    ):
        await response.read()
        return response.status, response.headers.get("x-routerx-provider")


def reset(env: Env) -> None:
    for fake in (env.eu, env.ca, env.backup):
        fake.reset()


async def test_deployments_of_one_model_name_share_the_load(env: Env) -> None:
    reset(env)
    served = Counter([(await chat(env))[1] for _ in range(40)])
    assert set(served) == {env.names["eu"], env.names["ca"]}
    assert env.backup.requests == []
    eu = env.eu.requests[0]
    assert eu.path == "/openai/deployments/gpt-4o-eu/chat/completions"
    assert eu.query["api-version"] == "2024-02-15-preview"
    assert eu.headers["api-key"] == "eu-key"


async def test_the_fallback_group_answers_when_the_primary_deployments_fail(env: Env) -> None:
    reset(env)
    env.eu.always(Scenario.fail(503))
    env.ca.always(Scenario.fail(503))
    status, provider = await chat(env)
    assert (status, provider) == (200, env.names["backup"])
    [request] = env.backup.requests
    assert request.body["model"] == "facebook/opt-125m"
    headers = {name.lower(): value for name, value in request.headers.items()}
    assert headers["authorization"] == "Bearer vllm-key"
    reset(env)


async def test_an_applied_file_steers_the_gateway_within_two_seconds(env: Env) -> None:
    reset(env)
    only_canada = env.routerx_yaml.replace(
        f"  - provider: {env.names['eu']}\n    model: gpt-4o-eu\n    weight: 6\n", ""
    )
    assert only_canada != env.routerx_yaml
    async with connected(env.database_url):
        await apply_file(load_text(only_canada, "routerx.yaml"), actor="tester")
    started = time.monotonic()
    while True:
        recent = [(await chat(env))[1] for _ in range(10)]
        if set(recent) == {env.names["ca"]}:
            break
        assert time.monotonic() - started < 2.0, f"still routing to {recent}"
        await asyncio.sleep(0.05)
    async with connected(env.database_url):
        await apply_file(load_text(env.routerx_yaml, "routerx.yaml"), actor="tester")
