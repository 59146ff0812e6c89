"""SIGTERM: in-flight requests and streams finish, and the request log is flushed before exit."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import aiohttp

from routerx.storage.config_version import bump_config_version
from routerx.storage.models import Provider, RequestLog
from tests.gateway.conftest import AUTH
from tests.support.database import connected, prepare
from tests.support.processes import base_env, start_server

SLOW_STREAM = {
    "model": "gpt-4.1-mini",
    "stream": True,
    "messages": [{"role": "user", "content": "take your time"}],
}


async def test_sigterm_lets_streams_finish_and_flushes_the_log(tmp_path: Path) -> None:
    database_url = f"sqlite://{tmp_path / 'rx.sqlite3'}"
    await prepare(database_url)
    async with connected(database_url):
        await Provider.filter(name="mock-text").update(settings={"mock": {"chunk_delay_ms": 150}})
        await bump_config_version()
    # A long flush interval: rows written at exit prove the shutdown flush, not the timer.
    gateway = await start_server(
        "gateway",
        base_env(database_url, REQUEST_LOG_FLUSH_INTERVAL_S="60", REQUEST_LOG_BATCH_SIZE="1000"),
    )
    assert gateway.process is not None
    try:
        async with aiohttp.ClientSession() as session:
            responses = [
                await session.post(
                    gateway.url + "/v1/chat/completions", json=SLOW_STREAM, headers=AUTH
                )
                for _ in range(3)
            ]
            for response in responses:
                assert response.status == 200
                await response.content.readline()  # the streams are under way
            gateway.process.send_signal(signal.SIGTERM)
            bodies = [await response.read() for response in responses]
        for body in bodies:
            assert body.rstrip().endswith(b"data: [DONE]")
            assert b'"error"' not in body
        exit_code = await asyncio.to_thread(gateway.process.wait, 30)
        assert exit_code == 0
    finally:
        gateway.stop()
    async with connected(database_url):
        rows = await RequestLog.filter(stream=True, status=200).count()
    assert rows == 3
