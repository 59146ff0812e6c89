"""Tenants, keys and budgets in a test database; calls to a running gateway."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from routerx.auth.api_keys import digest_key, display_prefix, generate_key
from routerx.spend.money import picodollars
from routerx.storage.config_version import bump_config_version
from routerx.storage.models import ApiKey, Budget, RequestLog, Tenant
from tests.support.database import connected

# max_tokens bounds each request's worst case, as a client with a budget would set it.
BODY = {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 30}


async def tenant_with_budget(
    database_url: str, name: str, amount_usd: str, **budget: Any
) -> tuple[str, int]:
    key = generate_key()
    async with connected(database_url):
        tenant = await Tenant.create(name=name, allowed_models=[])
        await ApiKey.create(tenant=tenant, prefix=display_prefix(key), digest=digest_key(key))
        await Budget.create(
            scope="tenant",
            subject_id=tenant.id,
            amount_pico=picodollars(amount_usd),
            period=budget.pop("period", "day"),
            thresholds=budget.pop("thresholds", [50, 80, 100]),
            **budget,
        )
        await bump_config_version()
    return key, tenant.id


async def call(
    url: str, key: str, body: dict[str, Any] | None = None, path: str = "/v1/chat/completions"
) -> tuple[int, dict[str, str], Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            url + path, json=body or BODY, headers={"Authorization": f"Bearer {key}"}
        ) as response,
    ):
        headers = {k.lower(): v for k, v in response.headers.items()}
        return response.status, headers, await response.json(content_type=None)


async def wait_until_served(url: str, key: str) -> tuple[int, dict[str, str], Any]:
    started = time.monotonic()
    while True:
        answer = await call(url, key)
        if answer[0] != 401:
            return answer
        assert time.monotonic() - started < 5, "key never reached the gateway"
        await asyncio.sleep(0.05)


async def logged_spend(database_url: str, tenant_id: int, expected_rows: int) -> list[RequestLog]:
    """The tenant's request-log rows, once `expected_rows` of them are written."""
    started = time.monotonic()
    while True:
        async with connected(database_url):
            rows = await RequestLog.filter(tenant_id=tenant_id).order_by("id")
        if len(rows) >= expected_rows:
            return rows
        assert time.monotonic() - started < 10, f"{len(rows)} of {expected_rows} rows logged"
        await asyncio.sleep(0.05)
