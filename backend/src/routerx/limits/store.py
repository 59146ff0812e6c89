"""Minute counts shared through Redis: one pipelined round trip per sync, Lua for atomicity."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError, RedisError

from routerx.limits.window import Counts

DEFAULT_KEY_PREFIX = "routerx:rl"

Exchange = tuple[str, Counts]
"""A subject's name and the counts it adds to the current and previous minute."""

# ARGV: key prefix, minute, ttl_ms, the deltas of every subject as one space-separated
#       string (requests, tokens, previous minute's requests, tokens), then the subjects.
# Adds the deltas and returns the four totals of every subject as one such string. Numbers
# travel as single strings because the pure-Python client costs microseconds per argument
# and per reply element. Keys are built here rather than passed in KEYS: this needs a
# single Redis, not a Cluster. Totals never go below zero: a token refund may reach a
# Redis that lost the reservation it refunds.
_EXCHANGE = """
local prefix, minute, ttl_ms = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local deltas = {}
for number in string.gmatch(ARGV[4], '%S+') do
  deltas[#deltas + 1] = tonumber(number)
end
local totals = {}
for subject = 5, #ARGV do
  local first = (subject - 5) * 4
  for age = 0, 1 do
    local key = prefix .. ':' .. ARGV[subject] .. ':' .. (minute - age)
    local requests, tokens = deltas[first + age * 2 + 1], deltas[first + age * 2 + 2]
    if requests ~= 0 or tokens ~= 0 then
      requests = redis.call('HINCRBY', key, 'r', requests)
      tokens = redis.call('HINCRBY', key, 't', tokens)
      if tokens < 0 then
        redis.call('HSET', key, 't', 0)
        tokens = 0
      end
      redis.call('PEXPIRE', key, ttl_ms)
    else
      local stored = redis.call('HMGET', key, 'r', 't')
      requests, tokens = stored[1] or 0, stored[2] or 0
    end
    totals[#totals + 1] = requests
    totals[#totals + 1] = tokens
  end
end
return table.concat(totals, ' ')
"""
_EXCHANGE_SHA = hashlib.sha1(_EXCHANGE.encode(), usedforsecurity=False).hexdigest()


class StoreUnavailableError(Exception):
    """The store could not be reached in time; the limiter goes on with local counts."""


class CountStore(Protocol):
    async def exchange(self, minute: int, subjects: Sequence[Exchange]) -> list[Counts]:
        """Adds each subject's counts and returns its totals, in order, over all processes.

        With no subjects, only checks that the store answers.
        """
        ...

    async def aclose(self) -> None: ...


class RedisCountStore:
    """Counts in one Redis (not a Cluster): a hash `<prefix>:<subject>:<minute>`, fields r, t.

    Every call is bounded by `timeout_s` and raises StoreUnavailableError on any Redis or
    network problem. Keys expire `ttl_s` after their last change.
    """

    def __init__(
        self,
        client: Redis,
        *,
        key_prefix: str = DEFAULT_KEY_PREFIX,
        ttl_s: float = 180.0,
        timeout_s: float = 0.2,
        subjects_per_call: int = 256,
        owns_client: bool = False,
    ) -> None:
        self._client = client
        self._prefix = key_prefix
        self._ttl_ms = int(ttl_s * 1000)
        self._timeout_s = timeout_s
        self._subjects_per_call = subjects_per_call
        self._owns_client = owns_client

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        key_prefix: str = DEFAULT_KEY_PREFIX,
        ttl_s: float = 180.0,
        timeout_s: float = 0.2,
    ) -> RedisCountStore:
        client = Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0),
        )
        return cls(
            client, key_prefix=key_prefix, ttl_s=ttl_s, timeout_s=timeout_s, owns_client=True
        )

    async def exchange(self, minute: int, subjects: Sequence[Exchange]) -> list[Counts]:
        if not subjects:
            await self._run([("PING",)])
            return []
        step = self._subjects_per_call
        commands = [
            self._exchange_command(minute, subjects[i : i + step])
            for i in range(0, len(subjects), step)
        ]
        totals = [int(total) for reply in await self._run(commands) for total in reply.split()]
        return [
            (totals[i], totals[i + 1], totals[i + 2], totals[i + 3])
            for i in range(0, len(totals), 4)
        ]

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    def _exchange_command(self, minute: int, subjects: Sequence[Exchange]) -> tuple[Any, ...]:
        deltas = " ".join([str(delta) for _, counts in subjects for delta in counts])
        names = [name for name, _ in subjects]
        return ("EVALSHA", _EXCHANGE_SHA, 0, self._prefix, minute, self._ttl_ms, deltas, *names)

    async def _run(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        """Sends `commands` in one pipeline; loads the script once if Redis lost it."""
        try:
            async with asyncio.timeout(self._timeout_s):
                try:
                    return await self._pipeline(commands)
                except NoScriptError:
                    await self._pipeline([("SCRIPT", "LOAD", _EXCHANGE)])
                    return await self._pipeline(commands)
        except (RedisError, OSError, TimeoutError) as exc:
            raise StoreUnavailableError(f"{type(exc).__name__}: {exc}") from exc

    async def _pipeline(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        pipe = self._client.pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)
        return list(await pipe.execute())
