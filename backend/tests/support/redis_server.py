"""A throwaway redis-server on a free port, for tests that stop (and restart) Redis on purpose."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis
from redis.exceptions import RedisError


class PrivateRedis:
    """Its own redis-server process; `kill()` then `start()` brings it back on the same port."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed (make services installs it)"
        self._process = await asyncio.create_subprocess_exec(
            *(binary, "--bind", "127.0.0.1", "--port", str(self.port)),
            *("--save", "", "--appendonly", "no"),
            stdout=subprocess.DEVNULL,
        )
        client = Redis.from_url(self.url)
        try:
            for _ in range(250):
                with contextlib.suppress(OSError, RedisError):
                    await client.ping()
                    return
                await asyncio.sleep(0.02)
        finally:
            await client.aclose()
        raise RuntimeError("redis-server did not start")

    async def kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            await self._process.wait()
            self._process = None


@asynccontextmanager
async def private_redis() -> AsyncIterator[PrivateRedis]:
    server = PrivateRedis()
    await server.start()
    try:
        yield server
    finally:
        await server.kill()


@asynccontextmanager
async def own_key_prefix(redis_url: str, label: str) -> AsyncIterator[str]:
    """A key prefix for one test on the shared Redis; its keys are deleted afterwards."""
    prefix = f"rx-test-{label}:{uuid.uuid4().hex}"
    yield prefix
    client = Redis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()
