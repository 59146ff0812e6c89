"""Shutdown waits are bounded: a task that ignores cancellation cannot hold a stop for ever."""

from __future__ import annotations

import asyncio

from routerx.core.background import bounded, stop_task


async def _stubborn(release: asyncio.Event) -> None:
    while True:
        try:
            await release.wait()
            return
        except asyncio.CancelledError:
            continue  # ignores cancellation, like a call stuck in a socket write


async def test_a_task_that_ignores_cancellation_is_left_behind_after_the_bound() -> None:
    release = asyncio.Event()
    task = asyncio.create_task(_stubborn(release))
    await asyncio.sleep(0)
    assert await stop_task(task, timeout_s=0.05) is False
    assert not task.done()
    release.set()
    await task


async def test_a_cooperative_task_is_stopped_and_its_end_reported() -> None:
    task = asyncio.create_task(asyncio.Event().wait())
    await asyncio.sleep(0)
    assert await stop_task(task, timeout_s=5.0) is True
    assert task.cancelled()
    assert await stop_task(None) is True


async def test_a_task_that_failed_does_not_fail_the_shutdown() -> None:
    async def fails() -> None:
        raise RuntimeError("broken")

    task = asyncio.create_task(fails())
    await asyncio.sleep(0)
    assert await stop_task(task, timeout_s=1.0) is True


async def test_a_shutdown_step_that_hangs_is_cut_off() -> None:
    assert await bounded(asyncio.Event().wait(), timeout_s=0.05) is None
    assert await bounded(asyncio.sleep(0, result=7), timeout_s=1.0) == 7
