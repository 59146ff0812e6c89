"""Login throttling behind the console: per username always, per address only for direct callers."""

from __future__ import annotations

from starlette.requests import Request

from routerx.admin.auth_routes import client_ip
from routerx.admin.throttle import MemoryThrottle, throttle_keys
from routerx.settings import Settings

TRUSTED = Settings().trusted_proxies


def request_from(host: str) -> Request:
    return Request({"type": "http", "client": (host, 50000), "headers": []})


async def test_failures_through_the_console_lock_only_that_username() -> None:
    throttle = MemoryThrottle()
    console = client_ip(request_from("127.0.0.1"), TRUSTED)
    assert console is None
    for _ in range(10):
        await throttle.record_failure(throttle_keys("mallory-guess", console))
    assert await throttle.retry_after(throttle_keys("mallory-guess", console)) is not None
    assert await throttle.retry_after(throttle_keys("admin", console)) is None


async def test_failures_from_a_direct_caller_lock_its_address() -> None:
    throttle = MemoryThrottle()
    caller = client_ip(request_from("203.0.113.9"), TRUSTED)
    assert caller == "203.0.113.9"
    for index in range(10):
        await throttle.record_failure(throttle_keys(f"user-{index}", caller))
    assert await throttle.retry_after(throttle_keys("admin", caller)) is not None
    assert await throttle.retry_after(throttle_keys("admin", "198.51.100.1")) is None
