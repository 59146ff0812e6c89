"""Rules changed in the database steer the running gateway within 2 s; hedging end to end."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest_asyncio

from routerx.storage.config_version import bump_config_version
from routerx.storage.models import Provider, RoutingRule
from tests.fakes.upstream import Scenario
from tests.routing.failover_env import (
    Answer,
    FailoverEnv,
    chat,
    failover_env,
    log_row,
)
from tests.support.database import connected

Env = FailoverEnv


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env() -> AsyncIterator[Env]:
    async with failover_env() as running:
        yield running


async def update_rule(database_url: str, **changes: Any) -> int:
    async with connected(database_url):
        await RoutingRule.filter(name="failover").update(**changes)
        return await bump_config_version()


async def wait_for_config(env: Env, version: int, deadline_s: float = 2.0) -> None:
    """Until the gateway serves configuration `version` (its /readyz says which it has)."""
    started = time.monotonic()
    async with aiohttp.ClientSession() as session:
        while True:
            async with session.get(env.gateway.url + "/readyz") as response:
                if (await response.json())["config_version"] >= version:
                    return
            assert time.monotonic() - started < deadline_s, "configuration not applied"
            await asyncio.sleep(0.05)


async def answer_within(
    env: Env, seconds: float, accept: Any, **extra: Any
) -> tuple[Answer, float]:
    started = time.monotonic()
    while True:
        answer = await chat(env.gateway.url, **extra)
        elapsed = time.monotonic() - started
        if accept(answer):
            return answer, elapsed
        assert elapsed < seconds, f"not within {seconds}s; last answer: {answer.headers}"
        await asyncio.sleep(0.05)


async def test_rule_change_takes_effect_within_two_seconds(env: Env) -> None:
    assert (await chat(env.gateway.url)).headers["x-routerx-provider"] == "primary"
    await update_rule(
        env.database_url,
        targets=[
            {"provider": "secondary", "model": "up-secondary", "weight": 1, "tier": 0},
            {"provider": "primary", "model": "up-primary", "weight": 1, "tier": 1},
        ],
    )
    _, elapsed = await answer_within(
        env, 2.0, lambda a: a.headers.get("x-routerx-provider") == "secondary"
    )
    assert elapsed < 2.0


async def test_disabled_provider_leaves_routing_within_two_seconds(env: Env) -> None:
    async with connected(env.database_url):
        await Provider.filter(name="secondary").update(enabled=False)
        await bump_config_version()
    try:
        await answer_within(env, 2.0, lambda a: a.headers.get("x-routerx-provider") == "primary")
    finally:
        async with connected(env.database_url):
            await Provider.filter(name="secondary").update(enabled=True)
            version = await bump_config_version()
        await wait_for_config(env, version)


async def test_hedged_request_wins_against_a_slow_primary(env: Env) -> None:
    await update_rule(
        env.database_url,
        hedge_delay_ms=100,
        targets=[
            {"provider": "primary", "model": "up-primary", "weight": 1, "tier": 0},
            {"provider": "secondary", "model": "up-secondary", "weight": 1, "tier": 1},
        ],
    )
    env.primary.always(Scenario(delay_s=1.2))
    try:
        answer, _ = await answer_within(
            env,
            4.0,
            lambda a: "primary;cancelled" in a.headers.get("x-routerx-attempts", ""),
            stream=True,
        )
        assert answer.headers["x-routerx-provider"] == "secondary"
        row = await log_row(env.database_url, answer.headers["x-request-id"])
        by_provider = {a["provider"]: a for a in row.attempts}
        assert by_provider["secondary"]["outcome"] == "success"
        assert by_provider["secondary"]["hedged"] is True
        assert by_provider["primary"]["outcome"] == "cancelled"
        assert row.fallback
        await env.primary.wait_for_disconnect(timeout_s=5)  # the loser's upstream was closed
    finally:
        env.primary.reset()
