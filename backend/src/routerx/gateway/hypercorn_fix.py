"""A fix for hypercorn 0.18: a keep-alive connection closed by the client stays open.

When an idle HTTP/1.1 connection reaches EOF, hypercorn's H11 protocol has no stream to close,
so nothing stops the connection's keep-alive timer, and the server side of the socket sits in
CLOSE-WAIT (task and file descriptor held) until `keep_alive_timeout` runs out. A client that
opens and closes connections quickly can pile up thousands of them. Stopping the idle timer once
reading has ended lets hypercorn close the socket at once. Covered by
tests/reliability/test_fault_storm.py; remove when hypercorn fixes it upstream.
"""

from __future__ import annotations

from typing import Any

from hypercorn.asyncio.tcp_server import TCPServer

from routerx.gateway import http_guards
from routerx.settings import get_settings

_original_read_data = TCPServer._read_data


async def _read_data_then_stop_idle_timer(self: Any) -> None:
    await _original_read_data(self)
    await self.idle_task.stop()


def apply() -> None:
    """Idempotent; called in every process that serves with hypercorn. Installs the HTTP
    guards (connection cap, h2c) too."""
    TCPServer._read_data = _read_data_then_stop_idle_timer  # type: ignore[method-assign]
    http_guards.install(get_settings())
