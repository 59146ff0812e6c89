"""Budget periods in UTC, and the webhook sender's SSRF guard and retries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web

from routerx.spend import periods
from routerx.spend.periods import period_end, period_key, period_start
from routerx.spend.webhook import WebhookSender
from tests.support.processes import free_port


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("period", "moment", "key", "start", "end"),
    [
        ("day", "2026-12-03T23:59:59", "2026-12-03", "2026-12-03", "2026-12-04"),
        ("day", "2026-12-04T00:00:00", "2026-12-04", "2026-12-04", "2026-12-05"),
        ("week", "2026-12-06T12:00:00", "2026-W49", "2026-11-30", "2026-12-07"),  # a Sunday
        ("week", "2026-12-07T00:00:00", "2026-W50", "2026-12-07", "2026-12-14"),
        ("month", "2026-12-31T23:59:59", "2026-12", "2026-12-01", "2027-01-01"),
        ("month", "2027-02-10T08:00:00", "2027-02", "2027-02-01", "2027-03-01"),
    ],
)
def test_periods_follow_utc_calendar_boundaries(
    period: str, moment: str, key: str, start: str, end: str
) -> None:
    now = at(moment)
    assert period_key(period, now) == key
    assert period_start(period, now) == datetime.fromisoformat(start).replace(tzinfo=UTC)
    assert period_end(period, now) == datetime.fromisoformat(end).replace(tzinfo=UTC)


def test_a_lifetime_budget_never_resets() -> None:
    assert period_key("lifetime", at("2026-12-03T10:00:00")) == "lifetime"
    assert period_end("lifetime", at("2026-12-03T10:00:00")) is None


def test_period_keys_are_cached_per_minute_in_a_bounded_cache() -> None:
    # Every request asks for its budgets' period keys: one entry per period and minute, and the
    # cache is emptied before it passes 65 entries, however long the process runs.
    periods._KEYS.clear()
    minute = at("2026-12-03T10:00:00")
    for second in range(60):
        assert period_key("day", minute + second) == "2026-12-03"
    assert len(periods._KEYS) == 1
    for later in range(1, 500):
        period_key("day", minute + 60 * later)
        assert len(periods._KEYS) <= 65


async def receiver(statuses: list[int]) -> tuple[web.AppRunner, list[Any], str]:
    received: list[Any] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.Response(status=statuses.pop(0) if statuses else 200)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, received, f"http://127.0.0.1:{port}/hook"


async def no_sleep(_: float) -> None:
    return None


async def test_internal_addresses_are_refused_unless_allowed() -> None:
    runner, received, url = await receiver([])
    try:
        guarded = WebhookSender(sleep=no_sleep)
        assert not await guarded.post(url, {"a": 1})
        assert not await guarded.post(url.replace("127.0.0.1", "localhost"), {"a": 1})
        await guarded.close()
        assert received == [], "nothing was sent to a loopback address"
        allowed = WebhookSender(allowed_networks=["127.0.0.0/8"], sleep=no_sleep)
        assert await allowed.post(url, {"a": 1})
        await allowed.close()
        assert received == [{"a": 1}]
    finally:
        await runner.cleanup()


async def test_failures_are_retried_with_backoff_then_given_up() -> None:
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    runner, received, url = await receiver([500, 503])
    try:
        sender = WebhookSender(allowed_networks=["127.0.0.1/32"], sleep=record)
        assert await sender.post(url, {"n": 1})
        assert len(received) == 3 and waits == [0.5, 1.0]
        failing = WebhookSender(allowed_networks=["127.0.0.1/32"], sleep=record, attempts=3)
        runner2, _, url2 = await receiver([500, 500, 500])
        try:
            assert not await failing.post(url2, {"n": 2})
        finally:
            await runner2.cleanup()
        await sender.close()
        await failing.close()
        assert not await WebhookSender().post("ftp://example.com/x", {})
    finally:
        await runner.cleanup()
