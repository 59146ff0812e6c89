"""A real gateway routing `failover-model` to two fake OpenAI-compatible upstreams."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp

from routerx.auth.internal import INTERNAL_HEADER
from routerx.storage.config_version import bump_config_version
from routerx.storage.models import Provider, RequestLog, RoutingRule, Tenant
from tests.conftest import create_pg_database, drop_pg_database
from tests.fakes.openai_server import FakeOpenAI
from tests.support.database import connected, prepare
from tests.support.processes import TEST_INTERNAL_TOKEN, ServerProcess, base_env, start_server

MODEL = "failover-model"
DEMO_KEY = "demo_key_fake_123456"
AUTH = {"Authorization": f"Bearer {DEMO_KEY}"}
TEST_SECRET = "test-secret-not-the-example"
INTERNAL = {INTERNAL_HEADER: TEST_INTERNAL_TOKEN}
PROVIDER_SETTINGS = {
    "timeouts": {"connect_s": 1, "first_token_s": 1, "idle_s": 1, "total_s": 1.5},
    "breaker": {"consecutive_failures": 3, "open_s": 30, "max_open_s": 60},
}
TEXT = {"model": MODEL, "messages": [{"role": "user", "content": "hello"}]}


async def configure(
    database_url: str, primary: FakeOpenAI, secondary: FakeOpenAI, hedge_delay_ms: int | None = None
) -> None:
    await prepare(database_url)
    async with connected(database_url):
        for name, fake in (("primary", primary), ("secondary", secondary)):
            await Provider.create(
                name=name,
                type="openai_compatible",
                base_url=fake.url + "/v1",
                capabilities=["text", "vision"],
                settings=PROVIDER_SETTINGS,
            )
        await RoutingRule.create(
            name="failover",
            model_pattern=MODEL,
            capability="text",
            hedge_delay_ms=hedge_delay_ms,
            on_transient="fail_over",  # these tests watch the next target take over
            targets=[
                {"provider": "primary", "model": "up-primary", "weight": 1, "tier": 0},
                {"provider": "secondary", "model": "up-secondary", "weight": 1, "tier": 1},
            ],
        )
        await Tenant.filter(name="demo").update(allowed_models=[])
        await bump_config_version()


async def start_gateway(database_url: str, **env: str) -> ServerProcess:
    return await start_server("gateway", base_env(database_url, ENABLE_REAL_CALLS="true", **env))


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any
    events: list[Any]


async def chat(url: str, body: dict[str, Any] | None = None, **extra: Any) -> Answer:
    payload = {**(body or TEXT), **extra}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url + "/v1/chat/completions", json=payload, headers=AUTH) as response,
    ):
        headers = {k.lower(): v for k, v in response.headers.items()}
        if headers.get("content-type", "").startswith("text/event-stream"):
            events = [
                line.strip().removeprefix(b"data: ")
                async for line in response.content
                if line.strip()
            ]
            parsed = [e.decode() if e == b"[DONE]" else json.loads(e) for e in events]
            return Answer(response.status, headers, None, parsed)
        return Answer(response.status, headers, await response.json(), [])


async def breakers(url: str) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(url + "/internal/breakers", headers=INTERNAL) as response,
    ):
        assert response.status == 200
        return (await response.json())["breakers"]  # type: ignore[no-any-return]


async def reset_breakers(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        for name in ("primary", "secondary"):
            async with session.post(
                url + f"/internal/breakers/{name}/reset", headers=INTERNAL
            ) as response:
                assert response.status == 204


def attempts(row: Any) -> list[tuple[str, str, int | None]]:
    """A request-log row's attempts as (provider, outcome, status)."""
    return [(a["provider"], a["outcome"], a.get("status")) for a in row.attempts]


async def log_row(database_url: str, request_id: str, deadline_s: float = 5.0) -> RequestLog:
    started = time.monotonic()
    async with connected(database_url):
        while True:
            row = await RequestLog.get_or_none(request_id=request_id)
            if row is not None:
                return row
            assert time.monotonic() - started < deadline_s, "log row not written"
            await asyncio.sleep(0.05)


@dataclass
class FailoverEnv:
    gateway: ServerProcess
    database_url: str
    primary: FakeOpenAI
    secondary: FakeOpenAI


@asynccontextmanager
async def failover_env() -> AsyncIterator[FailoverEnv]:
    """A fresh PostgreSQL database, two fake upstreams and a gateway routing between them."""
    database_url = await create_pg_database()
    try:
        async with FakeOpenAI.running() as primary, FakeOpenAI.running() as secondary:
            await configure(database_url, primary, secondary)
            gateway = await start_gateway(database_url)
            try:
                yield FailoverEnv(gateway, database_url, primary, secondary)
            finally:
                gateway.stop()
    finally:
        await drop_pg_database(database_url)
