"""Sign-in throttling, reserved before any password is hashed.

Three counts of failed sign-ins over a sliding 5-minute window:
- per (username, client address): 5, then that pair waits for the window;
- per client address: 20, then that address waits (guessing across many usernames);
- per username, from every address: past 10, a further attempt waits an exponentially growing
  gap after the username's last failure (2 s, 4 s, ... at most 60 s). An address with no failure
  in the window is exempt, so nobody can lock an operator out of their own account by
  failing on purpose from elsewhere.

An attempt is counted as a failure *before* its password is checked (the reservation) and
uncounted when it succeeds, so parallel wrong passwords cannot all slip in before the first
failure lands. In-process by default, where reserve() has no await between check and count and
so is atomic on the event loop; in Redis when REDIS_URL is set, where one Lua script checks and
counts, so every admin process shares the counts.
"""

from __future__ import annotations

import hashlib
import math
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as aioredis

WINDOW_S = 300.0
PAIR_MAX_FAILURES = 5
ADDRESS_MAX_FAILURES = 20
USERNAME_FREE_FAILURES = 10
USERNAME_MAX_DELAY_S = 60.0
MAX_TRACKED_KEYS = 100_000
DEFAULT_KEY_PREFIX = "routerx:login-failures"


@dataclass(frozen=True, slots=True)
class AttemptKeys:
    pair: str
    address: str
    username: str

    def all(self) -> tuple[str, str, str]:
        return (self.pair, self.address, self.username)


@dataclass(frozen=True, slots=True)
class Reservation:
    keys: AttemptKeys
    member: str


def attempt_keys(username: str, address: str) -> AttemptKeys:
    # Hashed: a username is user input of any length and must not shape a Redis key.
    user = hashlib.sha256(username.casefold().encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return AttemptKeys(f"pair:{user}:{address}", f"ip:{address}", f"user:{user}")


def username_delay(failures: int) -> float:
    """The gap a username's next attempt waits after its last failure."""
    if failures < USERNAME_FREE_FAILURES:
        return 0.0
    return min(2.0 ** (failures - USERNAME_FREE_FAILURES + 1), USERNAME_MAX_DELAY_S)


class LoginThrottle(Protocol):
    async def reserve(self, keys: AttemptKeys) -> Reservation | float:
        """Count this attempt as a failure and return its reservation, or return the seconds
        until it may be tried (nothing counted)."""

    async def succeeded(self, reservation: Reservation) -> None:
        """The attempt was right: uncount it and forget the pair's earlier failures."""

    async def close(self) -> None: ...


class MemoryThrottle:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: dict[str, deque[tuple[float, str]]] = {}

    def _recent(self, key: str, now: float) -> deque[tuple[float, str]]:
        failures = self._failures.get(key)
        if failures is None:
            return deque()
        while failures and failures[0][0] <= now - WINDOW_S:
            failures.popleft()
        return failures

    async def reserve(self, keys: AttemptKeys) -> Reservation | float:
        now = self._clock()
        pair = self._recent(keys.pair, now)
        address = self._recent(keys.address, now)
        username = self._recent(keys.username, now)
        wait = 0.0
        for failures, limit in ((pair, PAIR_MAX_FAILURES), (address, ADDRESS_MAX_FAILURES)):
            if len(failures) >= limit:
                wait = max(wait, failures[len(failures) - limit][0] + WINDOW_S - now)
        if username and (pair or address):
            wait = max(wait, username[-1][0] + username_delay(len(username)) - now)
        if wait > 0:
            return wait
        if len(self._failures) >= MAX_TRACKED_KEYS:
            self._forget_stale(now)
        member = uuid.uuid4().hex
        for key in keys.all():
            self._failures.setdefault(key, deque()).append((now, member))
        return Reservation(keys, member)

    async def succeeded(self, reservation: Reservation) -> None:
        self._failures.pop(reservation.keys.pair, None)
        for key in (reservation.keys.address, reservation.keys.username):
            failures = self._failures.get(key)
            if failures is not None:
                kept = [entry for entry in failures if entry[1] != reservation.member]
                self._failures[key] = deque(kept)

    async def close(self) -> None:
        self._failures.clear()

    def _forget_stale(self, now: float) -> None:
        stale = [key for key, times in self._failures.items() if not self._recent(key, now)]
        for key in stale:
            del self._failures[key]
        if len(self._failures) >= MAX_TRACKED_KEYS:
            self._failures.clear()


# KEYS: pair, address, username. ARGV: now, window, member, pair limit, address limit,
# username free failures, username max delay. Returns nil (reserved) or the wait as a string.
RESERVE_SCRIPT = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
for i = 1, 3 do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
end
local wait = 0
local counts = {}
local limits = {tonumber(ARGV[4]), tonumber(ARGV[5])}
for i = 1, 2 do
  local n = redis.call('ZCARD', KEYS[i])
  counts[i] = n
  if n >= limits[i] then
    local oldest = redis.call('ZRANGE', KEYS[i], n - limits[i], n - limits[i], 'WITHSCORES')
    wait = math.max(wait, tonumber(oldest[2]) + window - now)
  end
end
local failures = redis.call('ZCARD', KEYS[3])
local free = tonumber(ARGV[6])
if failures >= free and (counts[1] > 0 or counts[2] > 0) then
  local last = redis.call('ZRANGE', KEYS[3], -1, -1, 'WITHSCORES')
  local delay = math.min(2 ^ (failures - free + 1), tonumber(ARGV[7]))
  wait = math.max(wait, tonumber(last[2]) + delay - now)
end
if wait > 0 then
  return tostring(wait)
end
for i = 1, 3 do
  redis.call('ZADD', KEYS[i], now, ARGV[3])
  redis.call('EXPIRE', KEYS[i], math.ceil(window) + 1)
end
return false
"""


class RedisThrottle:
    def __init__(
        self,
        client: aioredis.Redis,
        clock: Callable[[], float] = time.time,
        *,
        key_prefix: str = DEFAULT_KEY_PREFIX,
    ) -> None:
        self._redis = client
        self._clock = clock
        self._prefix = key_prefix + ":"
        self._reserve = client.register_script(RESERVE_SCRIPT)

    async def reserve(self, keys: AttemptKeys) -> Reservation | float:
        member = uuid.uuid4().hex
        answer = await self._reserve(
            keys=[self._prefix + key for key in keys.all()],
            args=[
                repr(self._clock()),
                WINDOW_S,
                member,
                PAIR_MAX_FAILURES,
                ADDRESS_MAX_FAILURES,
                USERNAME_FREE_FAILURES,
                USERNAME_MAX_DELAY_S,
            ],
        )
        if answer is None:
            return Reservation(keys, member)
        return max(float(answer), math.ulp(0.0))

    async def succeeded(self, reservation: Reservation) -> None:
        keys = reservation.keys
        pipe = self._redis.pipeline(transaction=True)
        pipe.delete(self._prefix + keys.pair)
        pipe.zrem(self._prefix + keys.address, reservation.member)
        pipe.zrem(self._prefix + keys.username, reservation.member)
        await pipe.execute()

    async def close(self) -> None:
        await self._redis.aclose()


def build_throttle(redis_url: str, key_prefix: str = DEFAULT_KEY_PREFIX) -> LoginThrottle:
    if redis_url:
        return RedisThrottle(aioredis.Redis.from_url(redis_url), key_prefix=key_prefix)
    return MemoryThrottle()
