"""Stopping background tasks within a bound: a shutdown never waits on a task for ever.

A cancelled task may still be inside a call that ignores cancellation for a while (a socket
write to a server that stopped answering); shutdown then goes on without it and says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import TypeVar

log = logging.getLogger("routerx.background")
T = TypeVar("T")

STOP_TIMEOUT_S = 5.0


async def stop_task(task: asyncio.Task[object] | None, timeout_s: float = STOP_TIMEOUT_S) -> bool:
    """Cancel `task` and wait at most `timeout_s` for it to end; True when it ended."""
    if task is None:
        return True
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=timeout_s)
    if not done:
        log.warning("background task %s did not stop within %.1f s", task.get_name(), timeout_s)
        return False
    with contextlib.suppress(asyncio.CancelledError, Exception):
        task.result()
    return True


async def bounded(awaitable: Awaitable[T], timeout_s: float = STOP_TIMEOUT_S) -> T | None:
    """Await a shutdown step for at most `timeout_s`; None when it ran out of time."""
    try:
        async with asyncio.timeout(timeout_s):
            return await awaitable
    except TimeoutError:
        log.warning("a shutdown step did not finish within %.1f s", timeout_s)
        return None
