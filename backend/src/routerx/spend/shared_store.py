"""Spend totals shared through Redis: one pipelined script call per sync round.

Keys are `<prefix>:<scope>:<subject>:<period>` holding picodollars. A key Redis no longer
has (expired, flushed, a new Redis) is first set to the floor the caller knows from the
database, so a Redis flush never resets a budget.

A push is applied once: it carries the process's id and a sequence number, and Redis remembers
the last one applied per process (`<key>:seen`). A push whose reply was lost is sent again with
the same number and skipped, so spend is never counted twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Sequence
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError, RedisError

DEFAULT_SPEND_PREFIX = "routerx:spend"
TTL_S = 40 * 86_400  # beyond the longest period but a lifetime one, refreshed on every push

# ARGV: prefix, ttl_ms, process id, then per account: name, delta, floor, sequence. Returns
# the totals joined by spaces (one reply string: the pure-Python client costs per element).
_EXCHANGE = """
local prefix, ttl_ms, process = ARGV[1], ARGV[2], ARGV[3]
local totals = {}
for i = 4, #ARGV, 4 do
  local key = prefix .. ':' .. ARGV[i]
  local delta, floor, seq = tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])
  if floor > 0 then
    redis.call('SET', key, floor, 'NX')
  end
  local total
  local seen = key .. ':seen'
  if delta ~= 0 and seq > tonumber(redis.call('HGET', seen, process) or -1) then
    total = redis.call('INCRBY', key, delta)
    redis.call('HSET', seen, process, seq)
    redis.call('PEXPIRE', key, ttl_ms)
    redis.call('PEXPIRE', seen, ttl_ms)
  else
    total = tonumber(redis.call('GET', key) or 0)
  end
  totals[#totals + 1] = total
end
return table.concat(totals, ' ')
"""
_EXCHANGE_SHA = hashlib.sha1(_EXCHANGE.encode(), usedforsecurity=False).hexdigest()

Push = tuple[str, int, int, int]
"""An account's name, the picodollars it adds, the floor known from the database, and the
push's sequence number (a push sent again keeps its number)."""


class SharedStoreUnavailable(Exception):
    pass


class SpendStore(Protocol):
    async def exchange(self, pushes: Sequence[Push]) -> list[int]: ...

    async def aclose(self) -> None: ...


class RedisSpendStore:
    def __init__(
        self,
        client: Redis,
        *,
        key_prefix: str = DEFAULT_SPEND_PREFIX,
        timeout_s: float = 0.2,
        owns_client: bool = False,
    ) -> None:
        self.process = secrets.token_hex(8)
        self._client = client
        self._prefix = key_prefix
        self._timeout_s = timeout_s
        self._owns_client = owns_client

    @classmethod
    def from_url(
        cls, url: str, *, key_prefix: str = DEFAULT_SPEND_PREFIX, timeout_s: float = 0.2
    ) -> RedisSpendStore:
        client = Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0),
        )
        return cls(client, key_prefix=key_prefix, timeout_s=timeout_s, owns_client=True)

    async def exchange(self, pushes: Sequence[Push]) -> list[int]:
        if not pushes:
            return []
        args: list[Any] = []
        for name, delta, floor, sequence in pushes:
            args += [name, delta, floor, sequence]
        command = ("EVALSHA", _EXCHANGE_SHA, 0, self._prefix, TTL_S * 1000, self.process, *args)
        try:
            async with asyncio.timeout(self._timeout_s):
                try:
                    reply = await self._run(command)
                except NoScriptError:
                    await self._run(("SCRIPT", "LOAD", _EXCHANGE))
                    reply = await self._run(command)
        except (RedisError, OSError, TimeoutError) as exc:
            raise SharedStoreUnavailable(f"{type(exc).__name__}: {exc}") from exc
        text = reply.decode() if isinstance(reply, bytes) else str(reply)
        return [int(total) for total in text.split()]

    async def _run(self, command: tuple[Any, ...]) -> Any:
        pipe = self._client.pipeline(transaction=False)
        pipe.execute_command(*command)
        return (await pipe.execute())[0]

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()
