"""No secret leaves the stack: not in any admin API response, error message, log line or
/metrics output.

The secrets: a unique provider API key set through the admin API (really used: the fake
upstream receives it, and quotes it back in its error messages), its ciphertext at rest,
JWT_SECRET, the internal token, every admin user's password hash, and every
plain API key (shown once, at creation). Fragments are searched too, so that a partly masked
value (`sk-...4f2a`) counts as a leak.

Runs last in the security package (pytest orders test_secrets.py after the others), so the
process output it reads holds every line the other security tests caused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import aiohttp
from tortoise import Tortoise

from routerx.auth.internal import INTERNAL_HEADER
from tests.fakes.upstream import Scenario
from tests.security.conftest import (
    ADMIN_PASSWORD,
    API,
    DEMO_KEY,
    LEAK_MODEL,
    VIEWER_PASSWORD,
    Stack,
    poll,
)
from tests.support.database import connected
from tests.support.processes import base_env, start_server

MIN_FRAGMENT = 12


def fragments(secret: str, size: int = MIN_FRAGMENT) -> set[str]:
    """The secret and every `size`-character window of it (12 hex digits: no chance match)."""
    if len(secret) <= size:
        return {secret}
    return {secret[i : i + size] for i in range(len(secret) - size + 1)}


def argon2_parts(password_hash: str) -> list[str]:
    """The salt and digest of an argon2 PHC string: the parts worth stealing."""
    return [part for part in password_hash.split("$")[-2:] if len(part) >= MIN_FRAGMENT]


async def secrets_of(stack: Stack) -> dict[str, str]:
    async with connected(stack.database_url):
        connection = Tortoise.get_connection("default")
        _, users = await connection.execute_query("SELECT username, password_hash FROM admin_users")
        _, providers = await connection.execute_query(
            "SELECT name, secret_ciphertext FROM providers WHERE secret_ciphertext IS NOT NULL"
        )
    found = {
        "provider secret": stack.provider_secret,
        "JWT_SECRET": stack.jwt_secret,
        "internal token": stack.internal_token,
        "demo API key": DEMO_KEY,
        "viewer password": VIEWER_PASSWORD,
        **{f"API key of {name}": key for name, key in stack.keys.items()},
    }
    for user in users:
        for index, part in enumerate(argon2_parts(user["password_hash"])):
            found[f"password hash of {user['username']} ({index})"] = part
    for provider in providers:
        found[f"ciphertext of {provider['name']}"] = provider["secret_ciphertext"]
    assert any(name.startswith("password hash of admin") for name in found)
    assert "ciphertext of leaky-upstream" in found
    return found


def leaks(texts: Iterable[tuple[str, str]], secrets: dict[str, str]) -> list[str]:
    windows = {name: fragments(value) for name, value in secrets.items()}
    found = []
    for where, text in texts:
        for name, parts in windows.items():
            if any(part in text for part in parts):
                found.append(f"{name} in {where}")
    return found


async def exercise_the_secret(stack: Stack) -> list[tuple[str, str]]:
    """Send requests through the provider that holds the secret: a success, upstream errors
    that quote the secret, a stream broken by such an error. Returns what the client saw."""
    upstream = stack.upstream
    upstream.reset()
    seen = []
    body = {"model": LEAK_MODEL, "messages": [{"role": "user", "content": "hi"}]}
    status, answer, _ = await stack.chat(stack.keys["sec-a"], body)
    assert status == 200, answer
    assert upstream.requests[-1].headers["Authorization"] == f"Bearer {stack.provider_secret}"
    for scenario in (Scenario.fail(401), Scenario.fail(500), Scenario.fail(429)):
        upstream.always(scenario)
        status, answer, headers = await stack.chat(stack.keys["sec-a"], body)
        assert status >= 400, answer
        seen.append((f"gateway answer to upstream {scenario.status}", str(answer) + str(headers)))
    upstream.always(Scenario(error_after_chunks=1))
    status, answer, _ = await stack.chat(stack.keys["sec-a"], {**body, "stream": True})
    seen.append(("gateway stream cut by an upstream error", str(answer)))
    upstream.reset()
    assert b"Incorrect API key provided" not in str(seen).encode()
    return seen


async def bad_admin_input(stack: Stack) -> list[tuple[str, str]]:
    """Admin requests that carry secrets and fail: their errors must not quote them back."""
    secret = stack.provider_secret
    attempts: list[tuple[str, str, Any]] = [
        ("POST", "/providers", {"name": "bad name!", "type": "mock", "secret": secret}),
        ("POST", "/providers", {"name": "ok-name", "type": "nope", "secret": secret}),
        ("POST", "/providers", {"name": "ok-name", "type": "mock", "secret": secret * 40}),
        ("PATCH", f"/providers/{stack.ids['provider']}", {"secret": secret, "base_url": secret}),
        ("POST", "/auth/login", {"username": "admin", "password": stack.jwt_secret}),
        ("POST", "/auth/login", {"username": stack.provider_secret, "password": "x"}),
        ("POST", "/users", {"username": "u-leak", "password": 123, "role": secret}),
        ("POST", "/auth/password", {"current_password": secret, "new_password": "whatever-1"}),
    ]
    seen = []
    for method, path, body in attempts:
        status, answer = await stack.admin_call(method, path, body)
        assert 400 <= status < 500, (path, status, answer)
        seen.append((f"admin {method} {path} -> {status}", str(answer)))
    status, answer = await stack.admin_call("GET", f"/logs/{quote(secret)}")
    seen.append(("admin GET /logs/<secret>", str(answer)))
    return seen


async def walk_admin_reads(stack: Stack) -> list[tuple[str, str]]:
    """Every GET route of /openapi.json, lists with the largest page, and every item read
    through each read route (tenants, their keys and logs, providers, rules, users, logs)."""
    texts = []
    async with stack.client(stack.admin_token) as client:

        async def get(path: str) -> Any:
            async with client.get(path) as response:
                text = await response.text()
                assert response.status == 200, (path, response.status, text[:300])
                texts.append((f"admin GET {path}", text))
                return await response.json() if path != "/openapi.json" else None

        async with client.get("/openapi.json") as response:
            document = await response.json()
        get_paths = {p for p, methods in document["paths"].items() if "get" in methods}
        walked = set()

        async def items(list_path: str) -> list[dict[str, Any]]:
            page = await get(f"{list_path}?limit=200")
            walked.add(list_path)
            return page["data"]  # type: ignore[no-any-return]

        await get("/openapi.json")
        await get("/healthz")
        await get(API + "/auth/me")
        await get(API + "/breakers")
        await get(API + "/stats")
        await get(API + "/audit?limit=200")
        await get(API + "/provider-presets")
        walked |= {"/openapi.json", "/healthz", API + "/auth/me", API + "/breakers"}
        walked.add(API + "/provider-presets")
        walked |= {API + "/stats", API + "/audit"}
        await get(API + "/spend")
        await get(API + "/prices")
        walked |= {API + "/spend", API + "/prices", API + "/budgets"}
        for budget in (await get(API + "/budgets"))["data"]:
            if budget["scope"] == "tenant":
                await get(f"{API}/tenants/{budget['subject_id']}/budget")
        for tenant in await items(API + "/tenants"):
            base = f"{API}/tenants/{tenant['id']}"
            await get(base)
            for key in await items(base + "/keys"):
                await get(f"{base}/keys/{key['id']}")
            for row in (await items(base + "/logs"))[:5]:
                await get(f"{base}/logs/{row['request_id']}")
        for kind in ("providers", "rules", "users"):
            for item in await items(f"{API}/{kind}"):
                await get(f"{API}/{kind}/{item['id']}")
        for row in (await items(API + "/logs"))[:20]:
            await get(f"{API}/logs/{row['request_id']}")
        for kind in ("csv", "json"):  # the export is every filtered row's metadata, in a file
            async with client.get(f"{API}/logs/export?format={kind}") as response:
                assert response.status == 200, (kind, response.status)
                texts.append((f"admin GET {API}/logs/export?format={kind}", await response.text()))
        walked.add(API + "/logs/export")
    templates = {re.sub(r"\{[^}]+\}", "*", p) for p in get_paths}
    covered = {re.sub(r"/\d+", "/*", p) for p in walked}
    covered |= {
        API + "/tenants/*",
        API + "/tenants/*/keys/*",
        API + "/tenants/*/logs/*",
        API + "/providers/*",
        API + "/rules/*",
        API + "/users/*",
        API + "/logs/*",
        # a budget's read is a 404 until one is set; set budgets are read through /budgets
        API + "/tenants/*/budget",
        API + "/tenants/*/keys/*/budget",
    }
    assert templates <= covered, f"GET routes not walked: {templates - covered}"
    return texts


async def gateway_surfaces(stack: Stack) -> list[tuple[str, str]]:
    token = stack.internal_token
    texts = []
    async with aiohttp.ClientSession() as session:
        for path, headers in (
            ("/metrics", {}),
            ("/readyz", {}),
            ("/healthz", {}),
            ("/internal/breakers", {INTERNAL_HEADER: token}),
        ):
            async with session.get(stack.gateway.url + path, headers=headers) as response:
                assert response.status == 200, path
                texts.append((f"gateway {path}", await response.text()))
    return texts


async def test_no_secret_in_responses_errors_logs_or_metrics(stack: Stack) -> None:
    secrets = await secrets_of(stack)
    texts = await exercise_the_secret(stack)
    texts += await bad_admin_input(stack)
    texts += await walk_admin_reads(stack)
    texts += await gateway_surfaces(stack)
    assert "secret_set" in str(texts)  # the provider reads were really walked

    async def logged() -> bool:  # the request lines of the requests above are out
        return stack.gateway.output().count('"msg":"request"') > 0

    await poll(logged, "the gateway wrote its request log lines")
    texts.append(("gateway process output", stack.gateway.output()))
    texts.append(("admin process output", stack.admin.output()))
    found = leaks(texts, secrets)
    assert not found, "secrets leaked:\n" + "\n".join(found)
    # and the password the test knows is in no log line either
    for output in (stack.gateway.output(), stack.admin.output()):
        assert ADMIN_PASSWORD not in output and VIEWER_PASSWORD not in output


async def test_no_secret_in_debug_logs(stack: Stack) -> None:
    admin = await start_server(
        "admin",
        base_env(
            stack.database_url,
            JWT_SECRET=stack.jwt_secret,
            ROUTERX_INTERNAL_TOKEN=stack.internal_token,
            LOG_LEVEL="DEBUG",
        ),
    )
    try:
        headers = {"authorization": f"Bearer {stack.admin_token}"}
        async with aiohttp.ClientSession(admin.url, headers=headers) as client:
            user = {"username": "debug-user", "password": "debug-password-1", "role": "viewer"}
            async with client.post(API + "/users", json=user) as response:
                assert response.status == 201
            provider = {"name": "debug-provider", "type": "mock", "secret": "sk-debug-0123456789"}
            async with client.post(API + "/providers", json=provider) as response:
                assert response.status == 201
        secrets = {
            name: value
            for name, value in (await secrets_of(stack)).items()
            if "debug" in name or name in {"JWT_SECRET", "internal token"}
        }
        # two hash parts, a ciphertext, the JWT secret and the internal token
        assert len(secrets) == 5, secrets
        found = leaks([("admin output at DEBUG", admin.output())], secrets)
    finally:
        admin.stop()
    assert not found, "secrets leaked:\n" + "\n".join(found)
