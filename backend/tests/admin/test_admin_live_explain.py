"""The rule tester and the breaker report against the real gateway process: a provider that fails
trips its breaker in the gateway, the admin API reports it open, the tester says why the target is
skipped (and when a rule has nothing left), and a reset through the admin API closes it again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx2
import pytest
from tortoise.backends.base.executor import EXECUTOR_CACHE

from tests.admin.admin_harness import JWT_SECRET, Admin, running_admin
from tests.conftest import create_pg_database, drop_pg_database
from tests.support.database import prepare
from tests.support.processes import TEST_INTERNAL_TOKEN, ServerProcess, base_env, start_server

API = "/api/v1"
DEADLINE_S = 10.0
FAILING = {"mock": {"error_status": 503}}


@pytest.fixture(scope="module")
async def live() -> AsyncIterator[tuple[Admin, ServerProcess]]:
    url = await create_pg_database()
    try:
        EXECUTOR_CACHE.clear()  # see running_admin
        await asyncio.create_task(prepare(url, seed=False))
        env = base_env(url, JWT_SECRET=JWT_SECRET)
        gateway = await start_server("gateway", env)
        try:
            # The admin service reaches the gateway with the gateway's own internal token.
            async with running_admin(
                url, gateway=gateway.url, internal_token=TEST_INTERNAL_TOKEN
            ) as admin:
                yield admin, gateway
        finally:
            gateway.stop()
    finally:
        await drop_pg_database(url)


async def created(client: httpx2.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(API + path, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not await check():
        assert time.monotonic() < deadline, f"{what}: not seen before the deadline"
        await asyncio.sleep(0.05)


async def explain(client: httpx2.AsyncClient, **sample: Any) -> dict[str, Any]:
    response = await client.post(f"{API}/rules/test", json=sample)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def by_provider(explanation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {target["provider"]: target for target in explanation["targets"]}


async def breaker_of(client: httpx2.AsyncClient, provider: str) -> dict[str, Any]:
    report = (await client.get(f"{API}/breakers")).json()
    assert report["gateway_reachable"] is True
    found: dict[str, Any] = next(b for b in report["breakers"] if b["provider"] == provider)
    return found


async def test_an_open_breaker_in_the_gateway_is_reported_explained_and_reset(
    live: tuple[Admin, ServerProcess],
) -> None:
    admin, gateway = live
    async with admin.as_admin() as client, httpx2.AsyncClient(timeout=10) as outside:
        # A long open period: the breaker stays open for the whole test unless it is reset.
        breaker = {"consecutive_failures": 2, "open_s": 600, "max_open_s": 600, "jitter": 0}
        await created(
            client,
            "/providers",
            {"name": "flaky", "type": "mock", "settings": FAILING | {"breaker": breaker}},
        )
        await created(client, "/providers", {"name": "steady", "type": "mock"})
        tenant = await created(
            client, "/tenants", {"name": "explained", "allowed_models": ["explain-*"]}
        )
        key = (await created(client, f"/tenants/{tenant['id']}/keys", {}))["key"]
        await created(
            client,
            "/rules",
            {
                "name": "with-fallback",
                "model_pattern": "explain-chat",
                "targets": [{"provider": "flaky"}, {"provider": "steady", "tier": 1}],
            },
        )
        await created(
            client,
            "/rules",
            {"name": "alone", "model_pattern": "explain-alone", "targets": [{"provider": "flaky"}]},
        )

        async def gateway_knows_the_rules() -> bool:
            explanation = await explain(client, model="explain-alone")
            return explanation["rule"] is not None and explanation["rule"]["name"] == "alone"

        await eventually(gateway_knows_the_rules, "the new rules in the gateway")
        closed = await explain(client, model="explain-chat", tenant_id=tenant["id"])
        assert closed["rule"]["name"] == "with-fallback" and closed["error"] is None
        assert by_provider(closed)["flaky"] == {
            "provider": "flaky",
            "model": "explain-chat",
            "tier": 0,
            "weight": 1,
            "capable": True,
            "breaker_state": "closed",
            "eligible": True,
            "why": "primary",
        }
        assert by_provider(closed)["steady"]["why"] == "fallback tier 1"

        body = {"model": "explain-chat", "messages": [{"role": "user", "content": "hi"}]}
        for _ in range(2):
            answer = await outside.post(
                gateway.url + "/v1/chat/completions",
                json=body,
                headers={"authorization": f"Bearer {key}"},
            )
            assert answer.status_code == 200  # the fallback tier served it
            assert answer.headers["x-routerx-provider"] == "steady"

        flaky = await breaker_of(client, "flaky")
        assert flaky["state"] == "open"
        assert flaky["consecutive_failures"] == 2 and flaky["failures"] == 2
        assert flaky["open_until"] > time.time() + 500
        assert (await breaker_of(client, "steady"))["state"] == "closed"

        skipped = await explain(client, model="explain-chat")
        assert skipped["error"] is None
        assert by_provider(skipped)["flaky"]["breaker_state"] == "open"
        assert by_provider(skipped)["flaky"]["eligible"] is False
        assert by_provider(skipped)["flaky"]["why"] == "breaker open: skipped until it half-opens"
        assert by_provider(skipped)["steady"]["eligible"] is True
        stranded = await explain(client, model="explain-alone")
        assert stranded["rule"]["name"] == "alone"
        assert stranded["error"] == (
            "every capable target has an open breaker: the gateway would answer 503"
        )

        reset = await client.post(f"{API}/breakers/flaky/reset")
        assert reset.status_code == 200 and reset.json()["reset"] is True
        assert (await breaker_of(client, "flaky"))["state"] == "closed"
        again = await explain(client, model="explain-alone")
        assert again["error"] is None and by_provider(again)["flaky"]["eligible"] is True


async def test_a_half_open_breaker_admits_probes_in_the_tester(
    live: tuple[Admin, ServerProcess],
) -> None:
    admin, gateway = live
    async with admin.as_admin() as client, httpx2.AsyncClient(timeout=10) as outside:
        breaker = {"consecutive_failures": 1, "open_s": 0.5, "max_open_s": 0.5, "jitter": 0}
        await created(
            client,
            "/providers",
            {"name": "blinking", "type": "mock", "settings": FAILING | {"breaker": breaker}},
        )
        await created(client, "/providers", {"name": "backstop", "type": "mock"})
        tenant = await created(client, "/tenants", {"name": "half-open"})
        key = (await created(client, f"/tenants/{tenant['id']}/keys", {}))["key"]
        await created(
            client,
            "/rules",
            {
                "name": "blinking-first",
                "model_pattern": "blink-chat",
                "targets": [{"provider": "blinking"}, {"provider": "backstop", "tier": 1}],
            },
        )

        async def routed_by_the_new_rule() -> bool:
            answer = await outside.post(
                gateway.url + "/v1/chat/completions",
                json={"model": "blink-chat", "messages": [{"role": "user", "content": "hi"}]},
                headers={"authorization": f"Bearer {key}"},
            )
            return answer.status_code == 200 and answer.headers["x-routerx-provider"] == "backstop"

        await eventually(routed_by_the_new_rule, "a request served by the fallback tier")
        assert (await breaker_of(client, "blinking"))["reopen_count"] == 0

        async def half_open() -> bool:
            target = by_provider(await explain(client, model="blink-chat"))["blinking"]
            return bool(target["breaker_state"] == "half_open")

        await eventually(half_open, "the breaker half-open after its open period")
        probing = by_provider(await explain(client, model="blink-chat"))["blinking"]
        assert probing["eligible"] is True
        assert probing["why"] == "breaker half-open: admitted as a probe"


async def test_the_tester_explains_refusals_from_the_gateways_own_configuration(
    live: tuple[Admin, ServerProcess],
) -> None:
    admin, _gateway = live
    async with admin.as_admin() as client:
        await created(client, "/providers", {"name": "plain", "type": "mock"})
        await created(
            client,
            "/rules",
            {
                "name": "plain-only",
                "model_pattern": "plain-chat",
                "targets": [{"provider": "plain"}],
            },
        )
        narrow = await created(client, "/tenants", {"name": "narrow", "allowed_models": ["x-*"]})

        async def gateway_knows_the_rule() -> bool:
            return (await explain(client, model="plain-chat"))["rule"] is not None

        await eventually(gateway_knows_the_rule, "the new rule in the gateway")

        async def gateway_knows_the_tenant() -> bool:
            answer = await explain(client, model="plain-chat", tenant_id=narrow["id"])
            return bool(answer["error"] != f"tenant {narrow['id']} does not exist")

        await eventually(gateway_knows_the_tenant, "the new tenant in the gateway")
        forbidden = await explain(client, model="plain-chat", tenant_id=narrow["id"])
        unrouted = await explain(client, model="nobody-routes-this")
        no_tools = await explain(client, model="plain-chat", tools=True)
    assert forbidden["error"] == "tenant 'narrow' may not use model 'plain-chat'"
    assert unrouted["rule"] is None
    assert unrouted["error"] == "no rule routes model 'nobody-routes-this'"
    assert no_tools["rule"] is None
    assert no_tools["error"] == "no provider routed for 'plain-chat' supports 'tools'"
