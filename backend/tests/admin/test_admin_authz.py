"""The authorization matrix: every operation of /openapi.json as anonymous, viewer and admin.

The expected role of each route is written out here independently of the route table, so a
route that changes its role, or appears without one, fails this test.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import httpx2
from starlette.routing import Route

from routerx.admin.app import build_admin_app
from routerx.auth.api_keys import digest_key
from routerx.auth.passwords import hash_password
from routerx.storage.models import (
    AdminUser,
    ApiKey,
    Budget,
    PriceOverride,
    Provider,
    RequestLog,
    RoutingRule,
    Tenant,
)
from tests.admin.admin_harness import Admin

PUBLIC = {("GET", "/healthz"), ("GET", "/openapi.json"), ("POST", "/api/v1/auth/login")}
VIEWER_WRITES = {
    ("POST", "/api/v1/auth/refresh"),
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/auth/password"),
    ("POST", "/api/v1/rules/test"),  # asks the gateway, changes nothing
}
METHOD_ORDER = {"GET": 0, "PATCH": 1, "POST": 1, "PUT": 1, "DELETE": 2}


def expected_role(method: str, path: str) -> str:
    if (method, path) in PUBLIC:
        return "public"
    if path.startswith("/api/v1/users"):
        return "admin"
    if method == "GET" or (method, path) in VIEWER_WRITES:
        return "viewer"
    return "admin"


async def fetch_document(admin: Admin) -> dict[str, Any]:
    async with admin.client() as client:
        response = await client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = [
        (method.upper(), path, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]
    return sorted(found, key=lambda op: (METHOD_ORDER[op[0]], op[1]))


async def test_every_served_route_is_documented_with_the_expected_role(admin: Admin) -> None:
    document = await fetch_document(admin)
    documented = {(method, path) for method, path, _ in operations(document)}
    served = set()
    for route in build_admin_app(admin.settings).routes:
        assert isinstance(route, Route)
        path = re.sub(r"{(\w+):\w+}", r"{\1}", route.path)
        served |= {(method, path) for method in route.methods or () if method != "HEAD"}
    assert served == documented
    for method, path, operation in operations(document):
        assert operation["x-required-role"] == expected_role(method, path), (method, path)


async def make_resources(admin: Admin) -> dict[str, str]:
    """One of everything, so that path parameters name real rows."""
    with admin.database.active():
        tenant = await Tenant.create(name="matrix-tenant")
        key = await ApiKey.create(
            tenant=tenant, name="k", prefix="rx_matrix", digest=digest_key("rx_matrix_key")
        )
        provider = await Provider.create(name="matrix-provider", type="mock", capabilities=["text"])
        rule = await RoutingRule.create(
            name="matrix-rule",
            model_pattern="m-*",
            capability="text",
            targets=[{"provider": "matrix-provider", "model": None, "weight": 1, "tier": 0}],
        )
        user = await AdminUser.create(
            username="matrix-user", password_hash=hash_password("matrix-pass-1"), role="viewer"
        )
        await RequestLog.create(
            request_id="req-matrix",
            created_at=dt.datetime.now(dt.UTC),
            tenant_id=tenant.id,
            status=200,
            model="m-1",
            provider="matrix-provider",
        )
        for scope, subject in (("tenant", tenant.id), ("key", key.id)):
            await Budget.create(scope=scope, subject_id=subject, amount_pico=10**12, period="day")
        override = await PriceOverride.create(
            provider="matrix-provider", model="m-1", prices={"input": "1"}
        )
    admin.gateway.breakers["matrix-provider"] = {"state": "open", "calls": 3, "failures": 3}
    return {
        "tenant_id": str(tenant.id),
        "key_id": str(key.id),
        "provider_id": str(provider.id),
        "rule_id": str(rule.id),
        "user_id": str(user.id),
        "request_id": "req-matrix",
        "provider": "matrix-provider",
        "override_id": str(override.id),
    }


async def call(
    client: httpx2.AsyncClient, token: str | None, method: str, path: str
) -> httpx2.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    body = {} if method in {"POST", "PATCH", "PUT"} else None
    client.cookies.clear()  # a refresh sets a session cookie; each call brings only its token
    return await client.request(method, path, json=body, headers=headers)


async def test_authorization_matrix(admin: Admin) -> None:
    ids = await make_resources(admin)
    document = await fetch_document(admin)
    checked = 0
    async with admin.client() as client:
        for method, template, operation in operations(document):
            await check_operation(admin, client, ids, method, template, operation)
            checked += 1
    assert checked >= 45


async def check_operation(
    admin: Admin,
    client: httpx2.AsyncClient,
    ids: dict[str, str],
    method: str,
    template: str,
    operation: dict[str, Any],
) -> None:
    role = operation["x-required-role"]
    path = re.sub(r"{(\w+)}", lambda m: ids[m.group(1)], template)
    where = f"{method} {path}"

    anonymous = await call(client, None, method, path)
    if role == "public":
        assert anonymous.status_code != 401, where
    else:
        assert anonymous.status_code == 401, where
        assert anonymous.json()["error"]["type"] == "authentication_error", where

    # Fresh tokens each time: some operations (logout, refresh) end the session they use.
    viewer = await call(client, await admin.token_for("viewer"), method, path)
    if role == "admin":
        assert viewer.status_code == 403, where
        assert viewer.json()["error"]["type"] == "permission_error", where
    else:
        assert viewer.status_code not in {401, 403}, where
        assert viewer.status_code < 500, where

    as_admin = await call(client, await admin.token_for("admin"), method, path)
    assert as_admin.status_code not in {401, 403}, where
    assert as_admin.status_code < 500, (where, as_admin.text)
    if method == "GET":
        assert as_admin.status_code == 200, (where, as_admin.text)
