"""Large request bodies are decoded one at a time per worker, in steps, each followed by a pause
as long as it (at most MAX_PACE_S) before the next step may start: the worker spends at least
half its time on other requests (a health check) while a storm of large bodies is decoded."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from routerx.gateway import request_shape
from routerx.gateway.fronts.chat import ChatFront


def large_body(text_bytes: int) -> bytes:
    body = {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "x" * text_bytes}]}
    return json.dumps(body).encode()


class Timeline:
    """A clock the decode reads (each decode takes `decode_s`) and the pauses it asks for,
    interleaved with when each decode started."""

    def __init__(self, decode_s: float) -> None:
        self.decode_s = decode_s
        self.now = 100.0
        self.reads = 0
        self.events: list[tuple[str, float]] = []

    def perf_counter(self) -> float:
        self.reads += 1
        if self.reads % 2 == 1:  # a decode starts
            self.events.append(("decode", self.now))
        else:  # and ends
            self.now += self.decode_s
        return self.now

    async def sleep(self, seconds: float) -> None:
        if seconds:
            self.events.append(("pause", seconds))
        await asyncio.sleep(0)


@pytest.fixture
def timeline(monkeypatch: pytest.MonkeyPatch) -> Iterator[Timeline]:
    line = Timeline(decode_s=0.04)
    monkeypatch.setattr(request_shape, "time", SimpleNamespace(perf_counter=line.perf_counter))
    monkeypatch.setattr(
        request_shape, "asyncio", SimpleNamespace(sleep=line.sleep, Lock=asyncio.Lock)
    )
    yield line


async def test_each_large_decode_step_is_followed_by_a_pause_as_long_as_it(
    timeline: Timeline,
) -> None:
    # bytes, not a bytearray: scanned (one slice), decoded whole, then checked and built by the
    # front: three steps.
    body = large_body(request_shape.LARGE_BODY_BYTES + 1)
    decoded = await asyncio.gather(
        *(request_shape.decode_request(body, ChatFront()) for _ in range(3))
    )
    assert [c.requested_model for c in decoded] == ["gpt-4.1-mini"] * 3
    # One at a time, and never two steps without the pause between them.
    assert [kind for kind, _ in timeline.events] == ["decode", "pause"] * 9
    pauses = [seconds for kind, seconds in timeline.events if kind == "pause"]
    assert pauses == pytest.approx([0.04] * 9)


async def test_large_decodes_in_steps_do_not_interleave(monkeypatch: pytest.MonkeyPatch) -> None:
    """A body with a long string is decoded in many steps; another large body waits for all of
    them (and their pauses), so the worker never holds two large bodies' decodes at once."""
    paused_by: list[str] = []

    async def pace(seconds: float) -> None:
        task = asyncio.current_task()
        paused_by.append(task.get_name() if task is not None else "")
        await asyncio.sleep(0)

    monkeypatch.setattr(request_shape, "_pace", pace)
    body = large_body(3 * 1024 * 1024)
    tasks = [
        asyncio.create_task(request_shape.decode_request(bytearray(body), ChatFront()), name=n)
        for n in ("first", "second", "third")
    ]
    decoded = await asyncio.gather(*tasks)
    assert [len(c.request.messages[0].content or "") for c in decoded] == [3 * 1024 * 1024] * 3
    assert len(paused_by) > 3 * 5  # many steps each
    runs = [
        name for index, name in enumerate(paused_by) if index == 0 or paused_by[index - 1] != name
    ]
    assert sorted(runs) == ["first", "second", "third"]  # each request's steps in one run


async def test_the_pause_after_a_very_slow_decode_is_capped(timeline: Timeline) -> None:
    timeline.decode_s = 3.0
    await request_shape.decode_request(large_body(request_shape.LARGE_BODY_BYTES + 1), ChatFront())
    assert ("pause", request_shape.MAX_PACE_S) in timeline.events


async def test_a_small_body_is_decoded_at_once_without_a_pause(timeline: Timeline) -> None:
    await request_shape.decode_request(large_body(1000), ChatFront())
    assert timeline.events == []
