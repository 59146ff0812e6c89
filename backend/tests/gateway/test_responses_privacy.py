"""A canary sent through every /v1/responses path appears in no database row and no log line."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp

from routerx.storage.models import RequestLog
from tests.gateway.conftest import AUTH, RunningGateway
from tests.gateway.test_privacy import dump_database, wait_for_rows
from tests.support.database import connected


def requests_carrying(canary: str) -> list[dict[str, Any]]:
    tool_turn = [
        {"role": "user", "content": [{"type": "input_text", "text": f"secret {canary}"}]},
        {
            "type": "function_call",
            "call_id": "c1",
            "name": "lookup",
            "arguments": f'{{"q":"{canary}"}}',
        },
        {"type": "function_call_output", "call_id": "c1", "output": f"found {canary}"},
    ]
    return [
        {"model": "gpt-4.1-mini", "input": f"secret prompt {canary}", "instructions": canary},
        {"model": "gpt-4.1-mini", "input": f"secret prompt {canary}", "stream": True},
        {"model": "gpt-4.1-mini", "input": tool_turn, "metadata": {"note": canary}},
        {"model": "gpt-4.1-mini", "input": canary, "store": True},  # 400: state
        {"model": "gpt-4.1-mini", "input": [{"type": canary}]},  # 400: unknown item
        {"model": "unknown-model", "input": canary},  # 404
    ]


async def test_canary_is_in_no_row_and_no_log_line(gateway: RunningGateway) -> None:
    canary = f"CANARY-{uuid.uuid4().hex}"
    async with connected(gateway.database_url):
        rows_before = await RequestLog.all().count()
    statuses = []
    async with aiohttp.ClientSession() as session:
        for body in requests_carrying(canary):
            async with session.post(
                gateway.url + "/v1/responses", json=body, headers=AUTH
            ) as response:
                await response.read()
                statuses.append(response.status)
    assert statuses == [200, 200, 200, 400, 400, 404]

    await wait_for_rows(gateway.database_url, rows_before + len(statuses))
    dump = await dump_database(gateway.database_url)
    assert canary.lower() not in dump.lower()
    assert canary not in gateway.server.output()
