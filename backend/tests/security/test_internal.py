"""The gateway's /internal/* endpoints (breaker state and reset, the rule tester, runtime
counters) answer only to the `x-routerx-internal` token derived from this JWT_SECRET: no token,
a wrong one, one derived from another JWT_SECRET, or a near miss all get a 403 in OpenAI's shape,
and nothing is reset. The admin API's own calls (with the right token) keep working.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import aiohttp
import pytest

from routerx.auth.internal import INTERNAL_HEADER, internal_token
from routerx.settings import Settings
from tests.security.conftest import Stack

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
    """The documented derivation, written out: HMAC-SHA256(JWT_SECRET, "routerx-internal")."""
    return hmac.new(secret.encode(), b"routerx-internal", hashlib.sha256).hexdigest()


def bad_tokens(stack: Stack) -> dict[str, dict[str, str]]:
    right = derived(stack.jwt_secret)
    return {
        "no header": {},
        "empty": {INTERNAL_HEADER: ""},
        "another JWT_SECRET": {INTERNAL_HEADER: derived("another-jwt-secret-" + "x" * 30)},
        "the example JWT_SECRET": {INTERNAL_HEADER: derived("change-me-in-production-please")},
        "the JWT_SECRET itself": {INTERNAL_HEADER: stack.jwt_secret},
        "upper case": {INTERNAL_HEADER: right.upper()},
        "truncated": {INTERNAL_HEADER: right[:-1]},
        "one more character": {INTERNAL_HEADER: right + "0"},
        "prefix only": {INTERNAL_HEADER: right[:8]},
        "admin session token": {"authorization": f"Bearer {stack.admin_token}"},
        "demo API key": {"authorization": "Bearer demo_key_fake_123456"},
        "right value, other header": {"x-routerx-internal-token": right},
    }


def test_the_token_is_the_documented_derivation() -> None:
    secret = "some-jwt-secret-value-0123456789"
    assert internal_token(Settings(jwt_secret=secret)) == derived(secret)
    assert internal_token(Settings(jwt_secret=secret + "x")) != derived(secret)


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
        right = {INTERNAL_HEADER: derived(stack.jwt_secret)}
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
