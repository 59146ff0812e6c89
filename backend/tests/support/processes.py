"""Real RouterX processes for tests: `routerx gateway` / `routerx admin` on free ports."""

from __future__ import annotations

import asyncio
import atexit
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

BACKEND = Path(__file__).resolve().parents[2]
ROUTERX = str(Path(sys.executable).parent / "routerx")


_started: list[subprocess.Popen[bytes]] = []


@atexit.register
def _kill_leftovers() -> None:
    """A test run that dies (or is interrupted) must not leave servers behind."""
    for process in _started:
        if process.poll() is None:
            process.kill()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


TEST_INTERNAL_TOKEN = "test-internal-token-not-derived-" + "i" * 16


def base_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROUTERX_", "GATEWAY_"))}
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL="",
        ENABLE_REAL_CALLS="false",
        CONFIG_POLL_INTERVAL_S="0.2",
        REQUEST_LOG_FLUSH_INTERVAL_S="0.05",
        LOG_LEVEL="INFO",
        JWT_SECRET="test-secret-not-the-example",
        ROUTERX_INTERNAL_TOKEN=TEST_INTERNAL_TOKEN,
    )
    env.update(extra)
    return env


@dataclass
class ServerProcess:
    """A RouterX server in its own process, its output captured to a file for inspection."""

    command: str
    env: dict[str, str]
    port: int
    process: subprocess.Popen[bytes] | None = None
    pin_hosts: bool = True  # False: the hosts come from `env` or the settings' defaults
    output_path: Path = field(
        default_factory=lambda: Path(tempfile.mkstemp(prefix="routerx-", suffix=".log")[1])
    )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        port_var = "GATEWAY_PORT" if self.command == "gateway" else "ADMIN_PORT"
        pinned = {"GATEWAY_HOST": "127.0.0.1", "ADMIN_HOST": "127.0.0.1"} if self.pin_hosts else {}
        env = {**pinned, **self.env}
        env[port_var] = str(self.port)
        with self.output_path.open("wb") as output:
            self.process = subprocess.Popen(
                [ROUTERX, self.command],
                env=env,
                cwd=BACKEND,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    async def wait_ready(self, path: str = "/readyz", timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.command} exited early:\n{self.output()}")
                try:
                    async with session.get(self.url + path) as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
        raise TimeoutError(f"{self.command} not ready after {timeout_s}s:\n{self.output()}")

    def stop(self, timeout_s: float = 20.0) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def output(self) -> str:
        return self.output_path.read_text(errors="replace")


async def start_server(command: str, env: dict[str, str]) -> ServerProcess:
    """A started, ready server; one that does not become ready is stopped, not left running
    after the test that wanted it has failed."""
    server = ServerProcess(command, env, free_port())
    server.start()
    try:
        await server.wait_ready("/readyz" if command == "gateway" else "/healthz")
    except BaseException:
        server.stop()
        raise
    return server
