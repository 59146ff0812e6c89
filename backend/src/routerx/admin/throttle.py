"""Failed-login throttling: at most 5 failures per 5 minutes per username and per client IP.

In-process by default; in Redis when REDIS_URL is set, so that every admin process shares the
count. A blocked sign-in is refused before its password is checked, so a blocked attacker learns
nothing and spends no hashing time of ours.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Protocol

import redis.asyncio as aioredis

MAX_FAILURES = 5
WINDOW_S = 300.0
MAX_TRACKED_KEYS = 100_000


def throttle_keys(username: str, client_ip: str | None) -> list[str]:
    """Per username always; per client address only when the address is the client's own.

    Behind the console every login arrives from the console's address, and the forwarded
    client address cannot be trusted (Next.js passes a client-sent X-Forwarded-For through),
    so counting per address there would let five bad passwords lock every operator out."""
    # Hashed: a username is user input of any length and must not shape a Redis key.
    user = hashlib.sha256(username.casefold().encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return [f"user:{user}"] + ([f"ip:{client_ip}"] if client_ip is not None else [])


class LoginThrottle(Protocol):
    async def retry_after(self, keys: list[str]) -> float | None:
        """Seconds until a sign-in may be tried again, or None when it may be tried now."""

    async def record_failure(self, keys: list[str]) -> None: ...

    async def clear(self, key: str) -> None: ...

    async def close(self) -> None: ...


class MemoryThrottle:
    """Keeps the last MAX_FAILURES failure times per key; blocked while the oldest is recent."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    async def retry_after(self, keys: list[str]) -> float | None:
        now = self._clock()
        waits = []
        for key in keys:
            failures = self._failures.get(key)
            if failures is not None and len(failures) >= MAX_FAILURES:
                wait = failures[0] + WINDOW_S - now
                if wait > 0:
                    waits.append(wait)
        return max(waits) if waits else None

    async def record_failure(self, keys: list[str]) -> None:
        now = self._clock()
        if len(self._failures) >= MAX_TRACKED_KEYS:
            self._forget_stale(now)
        for key in keys:
            self._failures.setdefault(key, deque(maxlen=MAX_FAILURES)).append(now)

    async def clear(self, key: str) -> None:
        self._failures.pop(key, None)

    async def close(self) -> None:
        self._failures.clear()

    def _forget_stale(self, now: float) -> None:
        stale = [key for key, times in self._failures.items() if times[-1] + WINDOW_S <= now]
        for key in stale:
            del self._failures[key]
        if len(self._failures) >= MAX_TRACKED_KEYS:
            self._failures.clear()


class RedisThrottle:
    """One sorted set of failure times per key, trimmed to the window on every write."""

    PREFIX = "routerx:login-failures:"

    def __init__(self, client: aioredis.Redis, clock: Callable[[], float] = time.time) -> None:
        self._redis = client
        self._clock = clock

    async def retry_after(self, keys: list[str]) -> float | None:
        now = self._clock()
        pipe = self._redis.pipeline(transaction=False)
        for key in keys:
            pipe.zremrangebyscore(self.PREFIX + key, 0, now - WINDOW_S)
            # The MAX_FAILURES-th newest failure: while it is in the window, sign-in is blocked.
            pipe.zrevrange(self.PREFIX + key, MAX_FAILURES - 1, MAX_FAILURES - 1, withscores=True)
        results = await pipe.execute()
        waits = [float(found[0][1]) + WINDOW_S - now for found in results[1::2] if found]
        waits = [wait for wait in waits if wait > 0]
        return max(waits) if waits else None

    async def record_failure(self, keys: list[str]) -> None:
        now = self._clock()
        pipe = self._redis.pipeline(transaction=False)
        for key in keys:
            pipe.zadd(self.PREFIX + key, {uuid.uuid4().hex: now})
            pipe.zremrangebyscore(self.PREFIX + key, 0, now - WINDOW_S)
            pipe.expire(self.PREFIX + key, int(WINDOW_S) + 1)
        await pipe.execute()

    async def clear(self, key: str) -> None:
        await self._redis.delete(self.PREFIX + key)

    async def close(self) -> None:
        await self._redis.aclose()


def build_throttle(redis_url: str) -> LoginThrottle:
    if redis_url:
        return RedisThrottle(aioredis.Redis.from_url(redis_url))
    return MemoryThrottle()
