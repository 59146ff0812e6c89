"""One real stack for the security tests: a migrated, seeded PostgreSQL database, a real
`routerx gateway` (ENABLE_REAL_CALLS=true, so that a provider with a secret really sends it to a
fake upstream), a real `routerx admin` wired to that gateway, and a fake OpenAI upstream that
echoes the key it receives in its error messages (as real providers partly do).

The `console` marker: tests that build and start the Next.js console. They are skipped unless
selected (`pytest -m console tests/security`) or ROUTERX_CONSOLE_TESTS=1 is set.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from tests.conftest import create_pg_database, drop_pg_database
from tests.fakes.openai_server import FakeOpenAI
from tests.support.database import prepare
from tests.support.processes import ServerProcess, base_env, start_server

API = "/api/v1"
DEMO_KEY = "demo_key_fake_123456"
ADMIN_PASSWORD = "admin123"  # the seeded admin's documented local password
VIEWER_PASSWORD = "viewer-password-9f3"
LEAK_MODEL = "leak-model"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "console: builds and starts the Next.js console (slow; run with -m console)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    selected = "console" in (config.getoption("markexpr") or "") or (
        os.environ.get("ROUTERX_CONSOLE_TESTS") == "1"
    )
    if selected:
        return
    skip = pytest.mark.skip(reason="console test: run with `-m console` (builds the console)")
    for item in items:
        if item.get_closest_marker("console") is not None:
            item.add_marker(skip)


async def poll(check: Callable[[], Awaitable[bool]], what: str, timeout_s: float = 10.0) -> None:
    """Until `check` holds; fail with `what` after the deadline (never a fixed sleep)."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not before the deadline: {what}")
        await asyncio.sleep(0.05)


class EchoingOpenAI(FakeOpenAI):
    """An OpenAI fake whose errors quote the key it was sent, like OpenAI's own
    'Incorrect API key provided: sk-...' does: the gateway must not relay that text."""

    echoed: str = ""

    def error_body(self, status: int) -> dict[str, Any]:
        body = super().error_body(status)
        body["error"]["message"] = f"Incorrect API key provided: {self.echoed}. ({status})"
        return body


@dataclass
class Stack:
    database_url: str
    jwt_secret: str
    internal_token: str
    provider_secret: str
    gateway: ServerProcess
    admin: ServerProcess
    upstream: EchoingOpenAI
    admin_token: str = ""
    viewer_token: str = ""
    ids: dict[str, int] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)  # tenant name -> its plain API key

    def client(self, token: str | None = None) -> aiohttp.ClientSession:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return aiohttp.ClientSession(
            self.admin.url, headers=headers, timeout=aiohttp.ClientTimeout(total=20)
        )

    async def admin_call(
        self, method: str, path: str, json: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        """As the admin by default; `token=""` calls anonymously."""
        async with (
            self.client(self.admin_token if token is None else token) as client,
            client.request(method, API + path, json=json) as response,
        ):
            body = await response.json() if response.content_type == "application/json" else None
            return response.status, body

    async def login(self, username: str, password: str) -> str:
        status, body = await self.admin_call(
            "POST", "/auth/login", {"username": username, "password": password}, token=""
        )
        assert status == 200, (body, self.admin.output()[-4000:])
        return str(body["token"])

    async def chat(
        self, key: str, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session,
            session.post(
                self.gateway.url + "/v1/chat/completions",
                json=body,
                headers={"authorization": f"Bearer {key}", **(headers or {})},
            ) as response,
        ):
            text = await response.text()
            payload = {"raw": text}
            if response.content_type == "application/json":
                payload = await response.json()
            return response.status, payload, dict(response.headers)

    async def wait_until_gateway_knows(self, key: str, model: str = "gpt-4.1-mini") -> None:
        """An admin change reaches the gateway through the config version it polls."""

        async def served() -> bool:
            async with (
                aiohttp.ClientSession() as session,
                session.get(
                    self.gateway.url + "/v1/models", headers={"authorization": f"Bearer {key}"}
                ) as response,
            ):
                if response.status != 200:
                    return False
                return model in {m["id"] for m in (await response.json())["data"]}

        await poll(served, f"the gateway serves {model} to the new key")


async def _create(stack: Stack, path: str, body: dict[str, Any]) -> dict[str, Any]:
    status, created = await stack.admin_call("POST", path, body)
    assert status == 201, (created, stack.admin.output()[-4000:])
    return created  # type: ignore[no-any-return]


async def _populate(stack: Stack) -> None:
    """Two tenants with a key each, a viewer, and a provider with a secret behind its own rule."""
    stack.admin_token = await stack.login("admin", ADMIN_PASSWORD)
    user = await _create(
        stack, "/users", {"username": "sec-viewer", "password": VIEWER_PASSWORD, "role": "viewer"}
    )
    stack.ids["viewer"] = user["id"]
    stack.viewer_token = await stack.login("sec-viewer", VIEWER_PASSWORD)
    for name in ("sec-a", "sec-b"):
        tenant = await _create(stack, "/tenants", {"name": name})
        stack.ids[name] = tenant["id"]
        created = await _create(stack, f"/tenants/{tenant['id']}/keys", {"name": f"{name} key"})
        stack.keys[name] = created["key"]
        stack.ids[f"{name}-key"] = created["api_key"]["id"]
    provider = await _create(
        stack,
        "/providers",
        {
            "name": "leaky-upstream",
            "type": "openai_compatible",
            "base_url": stack.upstream.url + "/v1",
            "capabilities": ["text"],
            "secret": stack.provider_secret,
            "settings": {"breaker": {"min_calls": 1000, "consecutive_failures": 1000}},
        },
    )
    stack.ids["provider"] = provider["id"]
    rule = await _create(
        stack,
        "/rules",
        {
            "name": "leak-rule",
            "model_pattern": LEAK_MODEL,
            "targets": [{"provider": "leaky-upstream", "model": "fake-model", "tier": 0}],
        },
    )
    stack.ids["rule"] = rule["id"]
    for name in ("sec-a", "sec-b"):
        await stack.wait_until_gateway_knows(stack.keys[name])
    await stack.wait_until_gateway_knows(stack.keys["sec-a"], LEAK_MODEL)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def stack() -> AsyncIterator[Stack]:
    database_url = await create_pg_database()
    jwt_secret = "sec-jwt-" + secrets.token_hex(24)
    internal_token = "sec-internal-" + secrets.token_hex(24)
    provider_secret = "sk-canary-" + secrets.token_hex(16)
    gateway = admin = None
    try:
        await prepare(database_url)
        async with EchoingOpenAI.running() as upstream:
            upstream.echoed = provider_secret
            env = {
                "JWT_SECRET": jwt_secret,
                "ROUTERX_INTERNAL_TOKEN": internal_token,
                "LOG_LEVEL": "INFO",
            }
            gateway = await start_server(
                "gateway", base_env(database_url, ENABLE_REAL_CALLS="true", **env)
            )
            admin = await start_server(
                "admin", base_env(database_url, GATEWAY_INTERNAL_URL=gateway.url, **env)
            )
            stack = Stack(
                database_url, jwt_secret, internal_token, provider_secret, gateway, admin, upstream
            )
            await _populate(stack)
            yield stack
    finally:
        for server in (admin, gateway):
            if server is not None:
                server.stop()
        await drop_pg_database(database_url)
