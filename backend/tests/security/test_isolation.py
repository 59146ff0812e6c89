"""Tenant isolation across keys, routes, logs and limits, and read-only viewers, end to end:
real gateway and admin processes on one PostgreSQL database (tests/security/conftest.py).

The admin suite (tests/admin) has the full authorization matrix and the in-process log-scope
checks; here the same properties are checked through the real processes, with requests that
really went through the gateway.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from routerx.auth.api_keys import digest_key, display_prefix
from routerx.storage.models import ApiKey, RequestLog, Tenant
from tests.conftest import create_pg_database, drop_pg_database
from tests.security.conftest import Stack, poll
from tests.support.database import connected, prepare
from tests.support.processes import base_env, start_server

MODEL = "gpt-4.1-mini"


def chat_body(model: str = MODEL, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "hi"}], **extra}


@dataclass
class TenantKey:
    tenant_id: int
    key_id: int
    key: str


async def tenant_with_key(stack: Stack, prefix: str, **tenant: Any) -> TenantKey:
    name = f"{prefix}-{secrets.token_hex(3)}"
    status, created = await stack.admin_call("POST", "/tenants", {"name": name, **tenant})
    assert status == 201, created
    status, key = await stack.admin_call("POST", f"/tenants/{created['id']}/keys", {})
    assert status == 201, key
    return TenantKey(created["id"], key["api_key"]["id"], key["key"])


async def known(stack: Stack, key: str) -> None:
    async def served() -> bool:
        status, _, _ = await stack.chat(key, chat_body())
        return status == 200

    await poll(served, "the gateway serves the new key")


async def models_of(stack: Stack, key: str) -> set[str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            stack.gateway.url + "/v1/models", headers={"authorization": f"Bearer {key}"}
        ) as response,
    ):
        assert response.status == 200
        return {m["id"] for m in (await response.json())["data"]}


async def test_a_tenant_rule_serves_only_its_tenant(stack: Stack) -> None:
    a, b = stack.keys["sec-a"], stack.keys["sec-b"]
    model = f"iso-private-{secrets.token_hex(3)}"
    status, rule = await stack.admin_call(
        "POST",
        "/rules",
        {
            "name": model,
            "model_pattern": model,
            "tenant_id": stack.ids["sec-b"],
            "targets": [{"provider": "mock-text", "model": model}],
        },
    )
    assert status == 201, rule
    await stack.wait_until_gateway_knows(b, model)
    status_b, _, _ = await stack.chat(b, chat_body(model))
    status_a, body_a, _ = await stack.chat(a, chat_body(model))
    assert status_b == 200
    assert status_a == 404 and body_a["error"]["code"] == "model_not_found"
    assert model in await models_of(stack, b)
    assert model not in await models_of(stack, a)


async def test_allowed_models_bound_a_tenant(stack: Stack) -> None:
    narrow = await tenant_with_key(stack, "iso-narrow", allowed_models=[MODEL])
    await known(stack, narrow.key)
    model = f"iso-wide-{secrets.token_hex(3)}"
    status, _ = await stack.admin_call(
        "POST",
        "/rules",
        {"name": model, "model_pattern": model, "targets": [{"provider": "mock-text"}]},
    )
    assert status == 201
    wide = stack.keys["sec-b"]  # no allowed_models: every routed model
    await stack.wait_until_gateway_knows(wide, model)
    assert (await stack.chat(wide, chat_body(model)))[0] == 200
    status, body, _ = await stack.chat(narrow.key, chat_body(model))
    assert status == 404 and body["error"]["code"] == "model_not_found"
    assert model not in await models_of(stack, narrow.key)


async def test_log_rows_belong_to_the_key_and_stay_in_their_tenant(stack: Stack) -> None:
    """The row's tenant is the key's, whatever the request says about tenants; a tenant's log
    routes show only its own rows, to admins and viewers alike."""
    run = secrets.token_hex(4)
    spoof = {"x-tenant-id": str(stack.ids["sec-b"]), "x-routerx-tenant": "sec-b"}
    status, _, headers = await stack.chat(
        stack.keys["sec-a"],
        chat_body(tenant_id=stack.ids["sec-b"], user="sec-b"),
        {"x-request-id": f"iso-a-{run}", **spoof},
    )
    assert status == 200
    a_id = {k.lower(): v for k, v in headers.items()}["x-request-id"]
    status, _, headers = await stack.chat(
        stack.keys["sec-b"], chat_body(), {"x-request-id": f"iso-b-{run}"}
    )
    assert status == 200
    b_id = {k.lower(): v for k, v in headers.items()}["x-request-id"]

    async with connected(stack.database_url):

        async def written() -> bool:
            return await RequestLog.filter(request_id__in=[a_id, b_id]).count() == 2

        await poll(written, "both rows written")
        rows = {r.request_id: r for r in await RequestLog.filter(request_id__in=[a_id, b_id])}
    assert (rows[a_id].tenant_id, rows[a_id].key_id) == (stack.ids["sec-a"], stack.ids["sec-a-key"])
    assert (rows[b_id].tenant_id, rows[b_id].key_id) == (stack.ids["sec-b"], stack.ids["sec-b-key"])

    tenant_a, tenant_b = stack.ids["sec-a"], stack.ids["sec-b"]
    for token in (stack.admin_token, stack.viewer_token):
        status, page = await stack.admin_call(
            "GET", f"/tenants/{tenant_a}/logs?limit=200&tenant_id={tenant_b}", token=token
        )
        assert status == 200
        ids = {row["request_id"] for row in page["data"]}
        assert a_id in ids and b_id not in ids
        assert {row["tenant_id"] for row in page["data"]} == {tenant_a}
        assert (await stack.admin_call("GET", f"/tenants/{tenant_a}/logs/{b_id}", token=token))[
            0
        ] == 404
        assert (await stack.admin_call("GET", f"/tenants/{tenant_b}/logs/{b_id}", token=token))[
            0
        ] == 200
        status, page = await stack.admin_call("GET", f"/logs?tenant_id={tenant_b}&limit=200")
        assert {row["tenant_id"] for row in page["data"]} == {tenant_b}


async def test_a_revoked_key_or_disabled_tenant_does_not_touch_another(stack: Stack) -> None:
    x = await tenant_with_key(stack, "iso-x")
    y = await tenant_with_key(stack, "iso-y")
    await known(stack, x.key)
    await known(stack, y.key)
    status, _ = await stack.admin_call("POST", f"/tenants/{x.tenant_id}/keys/{x.key_id}/revoke")
    assert status == 200

    async def x_refused() -> bool:
        return (await stack.chat(x.key, chat_body()))[0] == 401

    await poll(x_refused, "the revoked key is refused")
    assert (await stack.chat(y.key, chat_body()))[0] == 200
    # another tenant's key id under this tenant's path is not found (nor revoked)
    status, _ = await stack.admin_call("POST", f"/tenants/{x.tenant_id}/keys/{y.key_id}/revoke")
    assert status == 404
    status, _ = await stack.admin_call("PATCH", f"/tenants/{y.tenant_id}", {"status": "disabled"})
    assert status == 200

    async def y_refused() -> bool:
        return (await stack.chat(y.key, chat_body()))[0] == 401

    await poll(y_refused, "the disabled tenant is refused")
    assert (await stack.chat(stack.keys["sec-a"], chat_body()))[0] == 200


async def test_limits_are_per_tenant_and_per_key(stack: Stack) -> None:
    limited = await tenant_with_key(stack, "iso-limited", rpm_limit=2)
    free = await tenant_with_key(stack, "iso-free")
    status, narrow_key = await stack.admin_call(
        "POST", f"/tenants/{free.tenant_id}/keys", {"rpm_limit": 1}
    )
    assert status == 201
    await known(stack, free.key)  # the config that holds all three is loaded
    statuses = [(await stack.chat(limited.key, chat_body()))[0] for _ in range(3)]
    assert statuses[-1] == 429, statuses
    status, body, headers = await stack.chat(limited.key, chat_body())
    assert status == 429 and body["error"]["type"] == "rate_limit_error"
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert "retry-after" in {h.lower() for h in headers}
    # the other tenant, and the tenant's other key, are not limited by it
    assert [(await stack.chat(free.key, chat_body()))[0] for _ in range(4)] == [200] * 4
    assert (await stack.chat(narrow_key["key"], chat_body()))[0] == 200
    assert (await stack.chat(narrow_key["key"], chat_body()))[0] == 429
    assert (await stack.chat(free.key, chat_body()))[0] == 200


VIEWER_WRITES = [
    ("POST", "/tenants", {"name": "viewer-made"}),
    ("PATCH", "/tenants/{sec-a}", {"rpm_limit": 1}),
    ("DELETE", "/tenants/{sec-b}", None),
    ("POST", "/tenants/{sec-a}/keys", {}),
    ("POST", "/tenants/{sec-a}/keys/{sec-a-key}/revoke", None),
    ("PATCH", "/providers/{provider}", {"enabled": False}),
    ("DELETE", "/rules/{rule}", None),
    ("POST", "/breakers/mock-text/reset", None),
    ("POST", "/users", {"username": "viewer-made", "password": "long-enough-1", "role": "admin"}),
    ("PATCH", "/users/{viewer}", {"role": "admin"}),
    ("GET", "/users", None),  # reading users is for admins only
]


@pytest.mark.parametrize(("method", "path", "body"), VIEWER_WRITES, ids=str)
async def test_a_viewer_cannot_write(
    stack: Stack, method: str, path: str, body: dict[str, Any] | None
) -> None:
    concrete = path
    for name, value in stack.ids.items():
        concrete = concrete.replace("{" + name + "}", str(value))
    status, error = await stack.admin_call(method, concrete, body, token=stack.viewer_token)
    assert status == 403, (status, error)
    assert error["error"]["type"] == "permission_error"
    status, me = await stack.admin_call("GET", "/auth/me", token=stack.viewer_token)
    assert status == 200 and me["role"] == "viewer"  # and nothing promoted it


# A request id chosen by one client must not stop the request log for everyone.


@pytest_asyncio.fixture(loop_scope="session")
async def own_gateway() -> AsyncIterator[tuple[str, str, str]]:
    """A gateway of this test's own (the shared stack's log must stay healthy), with two
    tenants. Yields the gateway URL, the database URL and the second tenant's key."""
    url = await create_pg_database()
    other_key = "rx_other_" + secrets.token_hex(8)
    try:
        await prepare(url)
        async with connected(url):
            tenant = await Tenant.create(name="other")
            await ApiKey.create(
                tenant=tenant, prefix=display_prefix(other_key), digest=digest_key(other_key)
            )
        server = await start_server("gateway", base_env(url))
        try:
            yield server.url, url, other_key
        finally:
            server.stop(timeout_s=1.0)  # a wedged log writer would spend 10 s flushing in vain
    finally:
        await drop_pg_database(url)


async def test_a_reused_request_id_does_not_stop_the_request_log(
    own_gateway: tuple[str, str, str],
) -> None:
    """Two tenants send the same x-request-id: each request gets RouterX's own unique id (the
    client's is kept beside it and echoed as x-client-request-id), so neither can shadow the
    other's request in the log or the console."""
    gateway_url, database_url, other_key = own_gateway
    demo = "demo_key_fake_123456"
    headers = {"content-type": "application/json"}
    issued: list[str] = []
    async with aiohttp.ClientSession() as session:
        for key, request_id in ((demo, "chosen-id"), (other_key, "chosen-id"), (demo, "later")):
            async with session.post(
                gateway_url + "/v1/chat/completions",
                json=chat_body(),
                headers={**headers, "authorization": f"Bearer {key}", "x-request-id": request_id},
            ) as response:
                assert response.status == 200
                assert response.headers["x-client-request-id"] == request_id
                assert response.headers["x-request-id"] != request_id
                issued.append(response.headers["x-request-id"])
    assert len(set(issued)) == 3
    deadline = time.monotonic() + 3  # rows are flushed every 0.05 s
    async with connected(database_url):
        while not await RequestLog.exists(client_request_id="later"):
            assert time.monotonic() < deadline, "the request log stopped writing"
            await asyncio.sleep(0.05)
        rows = await RequestLog.filter(client_request_id="chosen-id").order_by("id")
        assert not await RequestLog.exists(request_id="chosen-id")
    # Each request keeps its own row under its own tenant and its own id.
    assert len(rows) == 2
    assert [row.request_id for row in rows] == issued[:2]
    assert rows[0].tenant_id == 1 and rows[1].tenant_id not in (None, 1)
