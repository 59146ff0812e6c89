"""With the database unreachable the gateway keeps serving from its snapshot, buffers the
request-log rows, says so on /readyz, and writes every row once the database is back."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from routerx.storage.models import RequestLog
from tests.conftest import create_pg_database, drop_pg_database
from tests.gateway.conftest import AUTH
from tests.support.database import connected, prepare
from tests.support.processes import base_env, start_server
from tests.support.tcp_proxy import TcpProxy

BODY = {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "hi"}]}


async def readiness(url: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.get(url + "/readyz") as response:
        return response.status, await response.json()


async def until(predicate: Any, deadline_s: float, what: str) -> None:
    started = time.monotonic()
    while not await predicate():
        assert time.monotonic() - started < deadline_s, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def test_gateway_survives_a_database_outage() -> None:
    database_url = await create_pg_database()
    host_port = database_url.split("@", 1)[1].split("/", 1)[0]
    host, port = host_port.split(":")
    proxy = TcpProxy(host, int(port))
    await proxy.start()
    proxied_url = database_url.replace(host_port, f"127.0.0.1:{proxy.port}")
    await prepare(proxied_url)
    gateway = await start_server("gateway", base_env(proxied_url))
    sent = 0
    try:
        async with aiohttp.ClientSession() as session:

            async def send(count: int) -> None:
                nonlocal sent
                for _ in range(count):
                    async with session.post(
                        gateway.url + "/v1/chat/completions", json=BODY, headers=AUTH
                    ) as response:
                        assert response.status == 200, await response.text()
                        sent += 1

            await send(3)
            await proxy.cut()
            await send(20)  # served from the configuration snapshot

            async def reports_outage() -> bool:
                status, body = await readiness(gateway.url)
                deps = body["dependencies"]
                return (
                    status == 200
                    and deps["database"] == "unreachable"
                    and deps["request_log"] == "buffering"
                )

            await until(reports_outage, 10, "/readyz to report the outage")
            _, body = await readiness(gateway.url)
            assert body["request_log_pending"] > 0
            await send(5)

            await proxy.start()  # the database is back, on the same address

            async def all_rows_written() -> bool:
                async with connected(database_url):
                    return await RequestLog.all().count() == sent

            await until(all_rows_written, 20, "every buffered row to be written")
            await until(lambda: _ready_again(gateway.url), 10, "/readyz to recover")
    finally:
        gateway.stop()
        await proxy.cut()
        await drop_pg_database(database_url)
    assert "Traceback" not in gateway.output()


async def _ready_again(url: str) -> bool:
    _, body = await readiness(url)
    return bool(
        body["dependencies"]["database"] == "ok" and body["dependencies"]["request_log"] == "ok"
    )
