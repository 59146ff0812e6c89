"""A unique canary sent through every path appears in no database row and no log line."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import aiohttp
from tortoise import Tortoise

from routerx.storage.models import RequestLog
from tests.gateway.conftest import AUTH, RunningGateway
from tests.support.database import connected

TABLES = (
    "request_logs",
    "tenants",
    "api_keys",
    "providers",
    "routing_rules",
    "audit_log",
    "admin_users",
    "config_version",
)


def requests_carrying(canary: str) -> list[dict[str, Any]]:
    text = {"role": "user", "content": f"secret prompt {canary}"}
    image = {"type": "image_url", "image_url": {"url": f"https://images.example/{canary}.png"}}
    return [
        {"model": "gpt-4.1-mini", "messages": [text]},
        {"model": "gpt-4.1-mini", "stream": True, "messages": [text]},
        {
            "model": "gpt-4.1-mini",
            "messages": [{"role": "user", "content": [{"type": "text", "text": canary}, image]}],
        },
        {"model": "gpt-4.1-mini", "messages": [text], "temperature": 99},  # 400 path
        {
            "model": "gpt-4.1-mini",
            "messages": [
                {
                    "role": "user",
                    "content": [{"type": "image_url", "image_url": f"gopher://{canary}"}],
                }
            ],
        },  # bad image 400
        {"model": "unknown-model", "messages": [text]},  # 404 path
    ]


async def dump_database(database_url: str) -> str:
    async with connected(database_url):
        connection = Tortoise.get_connection("default")
        rows: list[str] = []
        for table in TABLES:
            _, result = await connection.execute_query(f"SELECT * FROM {table}")
            rows.extend(repr(dict(row)) for row in result)
        return "\n".join(rows)


async def wait_for_rows(database_url: str, expected: int, deadline_s: float = 10.0) -> None:
    """Every request has its row once the writer flushes."""
    started = time.monotonic()
    async with connected(database_url):
        while (count := await RequestLog.all().count()) < expected:
            assert time.monotonic() - started < deadline_s, f"{count} of {expected} rows"
            await asyncio.sleep(0.05)


async def test_canary_is_in_no_row_and_no_log_line(gateway: RunningGateway) -> None:
    canary = f"CANARY-{uuid.uuid4().hex}"
    async with connected(gateway.database_url):
        rows_before = await RequestLog.all().count()
    statuses = []
    async with aiohttp.ClientSession() as session:
        for body in requests_carrying(canary):
            async with session.post(
                gateway.url + "/v1/chat/completions", json=body, headers=AUTH
            ) as response:
                await response.read()
                statuses.append(response.status)
        async with session.post(
            gateway.url + "/v1/chat/completions",
            data=f'{{"model": "{canary}'.encode(),
            headers=AUTH,
        ) as response:
            statuses.append(response.status)
    assert statuses == [200, 200, 200, 400, 400, 404, 400]

    await wait_for_rows(gateway.database_url, rows_before + len(statuses))
    dump = await dump_database(gateway.database_url)
    assert canary not in dump
    assert canary.lower() not in dump.lower()
    assert canary not in gateway.server.output()
