"""The gateway's /internal/* endpoints (breaker state and reset, the rule tester, runtime
counters) answer only to ROUTERX_INTERNAL_TOKEN, a credential of its own: no token, a wrong one,
the HMAC of JWT_SECRET that older versions used (which anyone knowing the published example
could compute), the JWT secret itself or a near miss all get a 403 in OpenAI's shape, and nothing
is reset. With INTERNAL_PORT set they are served only on that listener. The admin API's own
calls (with the right token) keep working.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import aiohttp
import pytest

from routerx.auth.internal import INTERNAL_HEADER, is_internal_token
from routerx.settings import EXAMPLE_JWT_SECRET, Settings
from tests.admin.admin_harness import migrate_database
from tests.conftest import create_pg_database, drop_pg_database
from tests.security.conftest import Stack
from tests.support.processes import base_env, free_port, start_server

ENDPOINTS: list[tuple[str, str, Any]] = [
    ("GET", "/internal/breakers", None),
    ("GET", "/internal/runtime", None),
    ("POST", "/internal/breakers/mock-text/reset", None),
    (
        "POST",
        "/internal/route-explain",
        {"model": "gpt-4.1-mini", "capability": "text", "tenant_id": 1},
    ),
]


def derived(secret: str) -> str:
    """The old derivation: HMAC-SHA256(JWT_SECRET, "routerx-internal")."""
    return hmac.new(secret.encode(), b"routerx-internal", hashlib.sha256).hexdigest()


def bad_tokens(stack: Stack) -> dict[str, dict[str, str]]:
    right = stack.internal_token
    return {
        "no header": {},
        "empty": {INTERNAL_HEADER: ""},
        "derived from this JWT_SECRET": {INTERNAL_HEADER: derived(stack.jwt_secret)},
        "derived from the example JWT_SECRET": {INTERNAL_HEADER: derived(EXAMPLE_JWT_SECRET)},
        "the JWT_SECRET itself": {INTERNAL_HEADER: stack.jwt_secret},
        "upper case": {INTERNAL_HEADER: right.upper()},
        "truncated": {INTERNAL_HEADER: right[:-1]},
        "one more character": {INTERNAL_HEADER: right + "0"},
        "prefix only": {INTERNAL_HEADER: right[:8]},
        "admin session token": {"authorization": f"Bearer {stack.admin_token}"},
        "demo API key": {"authorization": "Bearer demo_key_fake_123456"},
        "right value, other header": {"x-routerx-internal-token": right},
    }


def test_the_token_is_its_own_setting_and_unset_admits_nobody() -> None:
    secret = "some-jwt-secret-value-0123456789"
    unset = Settings(jwt_secret=secret)
    assert not is_internal_token(unset, derived(secret))
    assert not is_internal_token(unset, "")
    own = Settings(jwt_secret=secret, internal_token="its-own-token-" + "z" * 20)
    assert is_internal_token(own, "its-own-token-" + "z" * 20)
    assert not is_internal_token(own, derived(secret))


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS, ids=[e[1] for e in ENDPOINTS])
async def test_internal_endpoints_refuse_without_the_right_token(
    stack: Stack, method: str, path: str, body: Any
) -> None:
    refused = {}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        for name, headers in bad_tokens(stack).items():
            async with session.request(
                method, stack.gateway.url + path, json=body, headers=headers
            ) as response:
                payload = await response.json()
                refused[name] = response.status
                if response.status == 403:
                    error = payload["error"]
                    assert set(error) == {"message", "type", "param", "code"}
                    assert error["type"] == "permission_error"
        right = {INTERNAL_HEADER: stack.internal_token}
        async with session.request(
            method, stack.gateway.url + path, json=body, headers=right
        ) as response:
            accepted = response.status
    assert refused == {name: 403 for name in refused}
    assert accepted in (200, 204), accepted  # so the refusals are about the token alone


async def test_the_admin_api_reaches_the_gateway_with_its_token(stack: Stack) -> None:
    status, report = await stack.admin_call("GET", "/breakers")
    assert status == 200 and "mock-text" in str(report)
    status, explained = await stack.admin_call(
        "POST", "/rules/test", {"model": "gpt-4.1-mini", "capability": "text"}
    )
    assert status == 200, explained


async def test_with_an_internal_port_the_public_listener_does_not_serve_internal_paths() -> None:
    database_url = await create_pg_database()
    token = "listener-internal-" + "q" * 24
    internal_port = free_port()
    gateway = None
    try:
        env = base_env(database_url, ROUTERX_INTERNAL_TOKEN=token, INTERNAL_PORT=str(internal_port))
        await migrate_database(database_url)
        gateway = await start_server("gateway", env)
        headers = {INTERNAL_HEADER: token}
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            async with session.get(gateway.url + "/internal/runtime", headers=headers) as public:
                assert public.status == 404
                assert (await public.json())["error"]["code"] == "not_found"
            internal_url = f"http://127.0.0.1:{internal_port}/internal/runtime"
            async with session.get(internal_url, headers=headers) as internal:
                assert internal.status == 200
                assert "open_fds" in await internal.json()
            async with session.get(internal_url) as no_token:
                assert no_token.status == 403
    finally:
        if gateway is not None:
            gateway.stop()
        await drop_pg_database(database_url)
