"""Redis-backed shared breaker state: one pipelined round trip per sync, Lua for atomicity."""

from __future__ import annotations

import asyncio
import enum
import hashlib
from collections.abc import Sequence
from typing import Any, Protocol

import msgspec
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError, RedisError

from routerx.routing.shared import scripts

DEFAULT_KEY_PREFIX = "routerx:breaker"


class StoreUnavailableError(Exception):
    """The shared store could not be reached in time; callers fall back to local state."""


class OpKind(enum.StrEnum):
    OPEN = "open"
    EXTEND = "extend"
    CLOSE = "close"
    RESET = "reset"


class LifecycleOp(msgspec.Struct, frozen=True, kw_only=True):
    """A local transition to publish. Times are wall-clock seconds."""

    kind: OpKind
    gen: int = 0
    opened_at: float = 0.0
    open_until: float = 0.0
    reopen_count: int = 0


class SyncItem(msgspec.Struct, frozen=True, kw_only=True):
    """One target's share of a sync round."""

    key: str
    window_s: int
    deltas: tuple[tuple[int, int, int], ...] = ()
    op: LifecycleOp | None = None
    claim_gen: int | None = None
    renew: tuple[int, int] | None = None  # (gen, round) of a probe lease to extend


class SharedState(msgspec.Struct, frozen=True, kw_only=True):
    gen: int
    open: bool
    opened_at: float = 0.0
    open_until: float = 0.0
    reopen_count: int = 0
    round: int = 0
    leader: str = ""
    lease_until: float = 0.0


class SyncResult(msgspec.Struct, frozen=True, kw_only=True):
    op_gen: int
    """Generation our op produced; 0 if it was refused or there was none."""
    claimed_round: int
    """Probe round we won; 0 if none."""
    calls: int
    failures: int
    """Window totals over all processes, after our deltas."""
    state: SharedState | None
    """None when no process has published a state (or it expired)."""


class SharedStore(Protocol):
    async def sync(
        self,
        items: Sequence[SyncItem],
        *,
        now_wall: float,
        leader: str,
        lease_s: float,
        with_index: bool,
    ) -> tuple[list[SyncResult], list[str]]:
        """Runs one sync round; also returns the keys of open breakers if `with_index`."""
        ...

    async def reset(self, key: str) -> int:
        """Closes the shared breaker unconditionally; returns the new generation."""
        ...

    async def aclose(self) -> None: ...


class _Script:
    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()


_SYNC = _Script(scripts.SYNC)
_TRY_OPEN = _Script(scripts.TRY_OPEN)
_EXTEND = _Script(scripts.EXTEND)
_CLAIM_ROUND = _Script(scripts.CLAIM_ROUND)
_CLOSE = _Script(scripts.CLOSE)
_RESET = _Script(scripts.RESET)
_ALL_SCRIPTS = (_SYNC, _TRY_OPEN, _EXTEND, _CLAIM_ROUND, _CLOSE, _RESET)


class RedisBreakerStore:
    """Shared breaker state in one Redis.

    Every call is bounded by `timeout_s` and raises StoreUnavailableError on any Redis or
    network problem. Keys: `<prefix>:<target>:state`, `<prefix>:<target>:window` and the
    open-breaker index `<prefix>:open`; all carry a TTL.
    """

    def __init__(
        self,
        client: Redis,
        *,
        key_prefix: str = DEFAULT_KEY_PREFIX,
        ttl_s: float = 3600.0,
        timeout_s: float = 0.2,
        owns_client: bool = False,
    ) -> None:
        self._client = client
        self._prefix = key_prefix
        self._ttl_s = ttl_s
        self._timeout_s = timeout_s
        self._owns_client = owns_client
        self._index_key = f"{key_prefix}:open"

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        key_prefix: str = DEFAULT_KEY_PREFIX,
        ttl_s: float = 3600.0,
        timeout_s: float = 0.2,
    ) -> RedisBreakerStore:
        client = Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0),
        )
        return cls(
            client, key_prefix=key_prefix, ttl_s=ttl_s, timeout_s=timeout_s, owns_client=True
        )

    async def sync(
        self,
        items: Sequence[SyncItem],
        *,
        now_wall: float,
        leader: str,
        lease_s: float,
        with_index: bool,
    ) -> tuple[list[SyncResult], list[str]]:
        commands: list[tuple[Any, ...]] = []
        if with_index:
            commands.append(("ZRANGE", self._index_key, 0, -1))
        for item in items:
            if item.op is not None:
                commands.append(self._op_command(item.key, item.op, now_wall, leader))
            if item.claim_gen is not None:
                commands.append(
                    self._eval(
                        _CLAIM_ROUND,
                        [self._state_key(item.key)],
                        [item.claim_gen, repr(now_wall), leader, repr(lease_s)],
                    )
                )
            commands.append(self._sync_command(item, now_wall, leader, lease_s))
        replies = iter(await self._run(commands))
        index = [_text(member) for member in next(replies)] if with_index else []
        results = []
        for item in items:
            op_gen = int(next(replies)) if item.op is not None else 0
            claimed = int(next(replies)) if item.claim_gen is not None else 0
            results.append(_sync_result(op_gen, claimed, next(replies)))
        return results, index

    async def reset(self, key: str) -> int:
        command = self._eval(
            _RESET,
            [self._state_key(key), self._window_key(key), self._index_key],
            [repr(self._ttl_s), key],
        )
        (gen,) = await self._run([command])
        return int(gen)

    async def read_state(self, key: str) -> SharedState | None:
        """The shared state of one target, for the admin API and tests."""
        fields = (
            "gen",
            "state",
            "opened_at",
            "open_until",
            "reopen",
            "round",
            "leader",
            "lease_until",
        )
        (values,) = await self._run([("HMGET", self._state_key(key), *fields)])
        return _shared_state(list(values))

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    def _state_key(self, key: str) -> str:
        return f"{self._prefix}:{key}:state"

    def _window_key(self, key: str) -> str:
        return f"{self._prefix}:{key}:window"

    def _sync_command(
        self, item: SyncItem, now_wall: float, leader: str, lease_s: float
    ) -> tuple[Any, ...]:
        renew_gen, renew_round = ("", "") if item.renew is None else item.renew
        args: list[object] = [
            repr(now_wall),
            item.window_s,
            repr(self._ttl_s),
            item.key,
            renew_gen,
            renew_round,
            leader,
            repr(lease_s),
        ]
        for delta in item.deltas:
            args.extend(delta)
        keys = [self._window_key(item.key), self._state_key(item.key), self._index_key]
        return self._eval(_SYNC, keys, args)

    def _op_command(
        self, key: str, op: LifecycleOp, now_wall: float, leader: str
    ) -> tuple[Any, ...]:
        state, window, index, ttl = (
            self._state_key(key),
            self._window_key(key),
            self._index_key,
            repr(self._ttl_s),
        )
        match op.kind:
            case OpKind.OPEN:
                return self._eval(
                    _TRY_OPEN,
                    [state, index],
                    [
                        op.gen,
                        repr(now_wall),
                        repr(op.opened_at),
                        repr(op.open_until),
                        op.reopen_count,
                        ttl,
                        key,
                    ],
                )
            case OpKind.EXTEND:
                return self._eval(
                    _EXTEND, [state, index], [op.gen, repr(op.open_until), repr(now_wall), ttl, key]
                )
            case OpKind.CLOSE:
                return self._eval(
                    _CLOSE, [state, window, index], [op.gen, repr(now_wall), leader, ttl, key]
                )
            case OpKind.RESET:
                return self._eval(_RESET, [state, window, index], [ttl, key])

    @staticmethod
    def _eval(script: _Script, keys: list[str], args: list[object]) -> tuple[Any, ...]:
        return ("EVALSHA", script.sha, len(keys), *keys, *args)

    async def _run(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        """Sends `commands` in one pipeline; loads the scripts once if Redis lost them."""
        try:
            async with asyncio.timeout(self._timeout_s):
                try:
                    return await self._pipeline(commands)
                except NoScriptError:
                    await self._pipeline([("SCRIPT", "LOAD", s.source) for s in _ALL_SCRIPTS])
                    return await self._pipeline(commands)
        except (RedisError, OSError, TimeoutError) as exc:
            raise StoreUnavailableError(f"{type(exc).__name__}: {exc}") from exc

    async def _pipeline(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        pipe = self._client.pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)
        return list(await pipe.execute())


def _sync_result(op_gen: int, claimed_round: int, reply: list[Any]) -> SyncResult:
    return SyncResult(
        op_gen=op_gen,
        claimed_round=claimed_round,
        calls=int(reply[0]),
        failures=int(reply[1]),
        state=_shared_state(reply[2:]),
    )


def _shared_state(values: list[Any]) -> SharedState | None:
    gen, state, opened_at, open_until, reopen, round_, leader, lease_until = (
        list(values) + [None] * 8
    )[:8]
    if gen is None:
        return None
    return SharedState(
        gen=int(gen),
        open=_text(state) == "open",
        opened_at=float(opened_at or 0.0),
        open_until=float(open_until or 0.0),
        reopen_count=int(reopen or 0),
        round=int(round_ or 0),
        leader=_text(leader or ""),
        lease_until=float(lease_until or 0.0),
    )


def _text(value: str | bytes) -> str:
    """Redis replies as text, whether or not the client decodes responses."""
    return value.decode() if isinstance(value, bytes) else value
