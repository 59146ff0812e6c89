"""Breakers shared through the real Redis: two registries stand in for two processes."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence

import pytest
from redis.asyncio import Redis

from routerx.core.clock import Clock, FakeClock, SystemClock
from routerx.routing.breaker import BreakerConfig, BreakerState, Outcome
from routerx.routing.breaker_registry import BreakerRegistry
from routerx.routing.shared.store import (
    LifecycleOp,
    OpKind,
    RedisBreakerStore,
    SharedStore,
    StoreUnavailableError,
    SyncItem,
    SyncResult,
)
from tests.support.redis_server import PrivateRedis, own_key_prefix
from tests.support.redis_server import private_redis as running_private_redis

KEY = "anthropic:claude"
CFG = BreakerConfig()
RATE_ONLY = BreakerConfig(consecutive_failures=1_000)

MakeRegistry = Callable[..., BreakerRegistry]


@pytest.fixture
async def private_redis() -> AsyncIterator[PrivateRedis]:
    async with running_private_redis() as server:
        yield server


@pytest.fixture
async def prefix(redis_url: str) -> AsyncIterator[str]:
    async with own_key_prefix(redis_url, "breaker") as own:
        yield own


@pytest.fixture
async def make(redis_url: str, prefix: str) -> AsyncIterator[MakeRegistry]:
    made: list[BreakerRegistry] = []

    def make(clock: Clock, url: str = redis_url, **kwargs: object) -> BreakerRegistry:
        # The production store timeout (0.2 s) counts a first round that has to connect and
        # load its script as an outage when the machine is busy (it failed once in `make
        # test`, beside the browser suite); these tests are about sharing, not about that.
        kwargs.setdefault("redis_timeout_s", 2.0)
        registry = BreakerRegistry.from_redis_url(
            url,
            key_prefix=prefix,
            clock=clock,
            rng=lambda: 0.5,
            **kwargs,  # type: ignore[arg-type]
        )
        made.append(registry)
        return registry

    yield make
    for registry in made:
        await registry.stop()


@pytest.fixture
async def store(redis_url: str, prefix: str) -> AsyncIterator[RedisBreakerStore]:
    store = RedisBreakerStore.from_url(redis_url, key_prefix=prefix)
    yield store
    await store.aclose()


def fail(registry: BreakerRegistry, times: int, cfg: BreakerConfig = CFG) -> None:
    for _ in range(times):
        registry.record(KEY, cfg, Outcome.FAILURE)


def open_until(registry: BreakerRegistry) -> float:
    view = registry.view(KEY)
    assert view is not None and view.open_until is not None
    return view.open_until


async def sync(*registries: BreakerRegistry) -> None:
    for registry in registries:
        assert await registry.sync_once()


async def test_an_open_in_one_process_is_honoured_by_another(make: MakeRegistry) -> None:
    clock = FakeClock()
    a, b = make(clock), make(clock)
    assert b.admit(KEY, CFG).allowed
    await sync(a, b)
    fail(a, 5)
    assert not a.admit(KEY, CFG).allowed
    assert b.admit(KEY, CFG).allowed  # not synced yet
    await sync(a, b)
    refused = b.admit(KEY, CFG)
    assert (refused.allowed, refused.state) == (False, BreakerState.OPEN)
    assert open_until(b) == pytest.approx(open_until(a), abs=1e-3)
    assert b.transitions[(BreakerState.CLOSED, BreakerState.OPEN)] == 1


async def test_a_process_that_never_saw_the_target_learns_it_is_open(make: MakeRegistry) -> None:
    clock = FakeClock()
    a, c = make(clock), make(clock)
    fail(a, 5)
    await sync(a, c)
    assert not c.admit(KEY, CFG).allowed


async def test_the_failure_window_is_shared(make: MakeRegistry, store: RedisBreakerStore) -> None:
    clock = FakeClock()
    a, b = make(clock), make(clock)
    for registry in (a, b):
        for outcome in [Outcome.SUCCESS, Outcome.FAILURE] * 3:
            registry.record(KEY, RATE_ONLY, outcome)
    await sync(a)
    assert a.admit(KEY, RATE_ONLY).allowed  # 6 calls: too few to judge
    await sync(b)  # 12 calls, 6 failures across both processes
    assert not b.admit(KEY, RATE_ONLY).allowed
    await sync(b, a)
    assert not a.admit(KEY, RATE_ONLY).allowed
    shared = await store.read_state(KEY)
    assert shared is not None and shared.open and shared.gen == 1


async def test_a_shared_window_below_the_rate_stays_closed(make: MakeRegistry) -> None:
    clock = FakeClock()
    a, b = make(clock), make(clock)
    for registry in (a, b):
        for outcome in [Outcome.SUCCESS, Outcome.SUCCESS, Outcome.FAILURE] * 3:
            registry.record(KEY, RATE_ONLY, outcome)
    await sync(a, b, a)
    assert a.admit(KEY, RATE_ONLY).allowed
    assert b.admit(KEY, RATE_ONLY).allowed
    view = a.view(KEY)
    assert view is not None and (view.calls_in_window, view.failures_in_window) == (18, 6)


async def test_concurrent_opens_make_one_shared_transition(
    make: MakeRegistry, store: RedisBreakerStore
) -> None:
    clock = FakeClock()
    a, b = make(clock), make(clock)
    fail(a, 5)
    fail(b, 5)
    results = await asyncio.gather(a.sync_once(), b.sync_once())
    assert list(results) == [True, True]
    shared = await store.read_state(KEY)
    assert shared is not None and shared.open and shared.gen == 1
    await sync(a, b)
    assert open_until(a) == pytest.approx(open_until(b), abs=1e-3)


async def test_the_open_script_lets_exactly_one_of_many_racers_win(
    store: RedisBreakerStore,
) -> None:
    now = time.time()
    op = LifecycleOp(kind=OpKind.OPEN, gen=0, opened_at=now, open_until=now + 30)
    item = SyncItem(key=KEY, window_s=60, op=op)

    async def race() -> SyncResult:
        results, _ = await store.sync(
            [item], now_wall=now, leader=uuid.uuid4().hex, lease_s=5.0, with_index=False
        )
        return results[0]

    results = await asyncio.gather(*(race() for _ in range(20)))
    assert sorted(result.op_gen for result in results) == [0] * 19 + [1]
    assert all(r.state is not None and r.state.gen == 1 for r in results)


async def test_the_probe_round_is_shared(make: MakeRegistry, store: RedisBreakerStore) -> None:
    clock = FakeClock()
    a, b = make(clock), make(clock)
    fail(a, 5)
    await sync(a, b)
    clock.advance(30)
    for registry in (a, b):
        refused = registry.admit(KEY, CFG)  # half-open, but no probe round granted yet
        assert (refused.allowed, refused.state) == (False, BreakerState.HALF_OPEN)
    await sync(a, b)  # a claims the round first; b finds it taken
    admitted = [registry.admit(KEY, CFG).allowed for registry in (a, b, a, b, a, b, a)]
    assert admitted == [True, False, True, False, True, False, False]
    for _ in range(3):
        a.record(KEY, CFG, Outcome.SUCCESS)
    assert a.admit(KEY, CFG).allowed
    await sync(a, b)
    assert b.admit(KEY, CFG).allowed
    assert b.transitions[(BreakerState.HALF_OPEN, BreakerState.CLOSED)] == 1
    shared = await store.read_state(KEY)
    assert shared is not None and not shared.open


async def test_a_failed_probe_reopens_everywhere_with_the_doubled_wait(
    make: MakeRegistry,
) -> None:
    clock = FakeClock()
    a, b = make(clock), make(clock)
    doubling = BreakerConfig(steady_reopens=0)  # each failed probe doubles the wait
    fail(a, 5)
    await sync(a, b)
    clock.advance(30)
    a.admit(KEY, doubling)
    await sync(a)
    assert a.admit(KEY, doubling).probe
    a.record(KEY, doubling, Outcome.FAILURE)
    await sync(a, b)
    refused = b.admit(KEY, doubling)
    assert refused.state is BreakerState.OPEN
    assert refused.retry_after_s == pytest.approx(40.0, abs=1e-2)
    view = b.view(KEY)
    assert view is not None and view.reopen_count == 1


async def test_the_leader_keeps_its_round_while_a_probe_is_in_flight(make: MakeRegistry) -> None:
    clock = FakeClock()
    a, b = make(clock, probe_lease_s=5.0), make(clock, probe_lease_s=5.0)
    fail(a, 5)
    await sync(a, b)
    clock.advance(30)
    a.admit(KEY, CFG)
    b.admit(KEY, CFG)
    await sync(a, b)
    assert a.admit(KEY, CFG).probe
    for _ in range(4):  # a slow probe: the lease is renewed on every sync
        clock.advance(4)
        await sync(a, b)
        assert not b.admit(KEY, CFG).allowed
    assert a.admit(KEY, CFG).probe


async def test_an_idle_leader_loses_its_round_to_a_busy_process(make: MakeRegistry) -> None:
    clock = FakeClock()
    a, b = make(clock, probe_lease_s=5.0), make(clock, probe_lease_s=5.0)
    fail(a, 5)
    await sync(a, b)
    clock.advance(30)
    a.admit(KEY, CFG)
    await sync(a)  # a holds the round but gets no traffic
    clock.advance(5)
    b.admit(KEY, CFG)
    await sync(b)
    assert b.admit(KEY, CFG).probe
    await sync(a)
    assert not a.admit(KEY, CFG).allowed


async def test_a_retry_after_seen_while_open_is_shared(make: MakeRegistry) -> None:
    clock = FakeClock()
    a, b = make(clock), make(clock)
    fail(a, 5)
    await sync(a, b)
    a.record(KEY, CFG, Outcome.FAILURE, retry_after_s=200.0)
    await sync(a, b)
    assert open_until(b) == pytest.approx(clock.time() + 200.0, abs=1e-3)


async def test_reset_reaches_every_process(make: MakeRegistry, store: RedisBreakerStore) -> None:
    clock = FakeClock()
    a, b = make(clock), make(clock)
    fail(a, 5)
    await sync(a, b)
    assert await a.reset(KEY)
    assert a.admit(KEY, CFG).allowed
    await sync(b)
    assert b.admit(KEY, CFG).allowed
    assert b.transitions[(BreakerState.OPEN, BreakerState.CLOSED)] == 1
    shared = await store.read_state(KEY)
    assert shared is not None and not shared.open


async def test_a_lost_shared_state_is_published_again(
    make: MakeRegistry, redis_url: str, prefix: str, store: RedisBreakerStore
) -> None:
    clock = FakeClock()
    a = make(clock)
    fail(a, 5)
    await sync(a)
    client = Redis.from_url(redis_url)
    try:
        await client.delete(f"{prefix}:{KEY}:state")
    finally:
        await client.aclose()
    await sync(a, a)
    shared = await store.read_state(KEY)
    assert shared is not None and shared.open
    assert shared.open_until == pytest.approx(open_until(a), abs=1e-3)


async def test_syncs_rebuild_a_lost_open_index(
    make: MakeRegistry, redis_url: str, prefix: str
) -> None:
    clock = FakeClock()
    a = make(clock)
    fail(a, 5)
    await sync(a)
    client = Redis.from_url(redis_url)
    try:
        await client.delete(f"{prefix}:open")
    finally:
        await client.aclose()
    await sync(a)
    newcomer = make(clock)
    await sync(newcomer)
    assert not newcomer.admit(KEY, CFG).allowed


async def test_shared_keys_expire(make: MakeRegistry, redis_url: str, prefix: str) -> None:
    a = make(FakeClock())
    a.record(KEY, CFG, Outcome.SUCCESS)
    fail(a, 5)
    await sync(a)
    client = Redis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
        assert len(keys) == 3  # state, window, open index
        ttls = [await client.pttl(key) for key in keys]
    finally:
        await client.aclose()
    assert all(ttl > 0 for ttl in ttls)


async def test_another_process_honours_an_open_within_a_second(make: MakeRegistry) -> None:
    clock = SystemClock()
    b_opened = asyncio.Event()

    def on_transition(_: str, __: BreakerState, to_state: BreakerState) -> None:
        if to_state is BreakerState.OPEN:
            b_opened.set()

    a = make(clock, sync_interval_s=0.25)
    b = make(clock, sync_interval_s=0.25, on_transition=on_transition)
    assert b.admit(KEY, CFG).allowed
    await a.start()
    await b.start()
    started = time.monotonic()
    fail(a, 5)
    await asyncio.wait_for(b_opened.wait(), timeout=1.0)
    assert not b.admit(KEY, CFG).allowed
    assert time.monotonic() - started < 1.0


async def test_a_local_open_is_pushed_without_waiting_for_the_next_tick(
    make: MakeRegistry, store: RedisBreakerStore
) -> None:
    a = make(SystemClock(), sync_interval_s=30.0)
    await a.start()
    await asyncio.sleep(0)  # let the first (empty) round run; the next tick is 30 s away
    fail(a, 5)
    deadline = time.monotonic() + 1.0
    shared = await store.read_state(KEY)
    while (shared is None or not shared.open) and time.monotonic() < deadline:
        shared = await store.read_state(KEY)
    assert shared is not None and shared.open


async def test_a_half_open_breaker_claims_its_probe_round_without_waiting_for_a_tick(
    make: MakeRegistry,
) -> None:
    clock = FakeClock()
    a = make(clock, sync_interval_s=30.0)
    fail(a, 5)
    await sync(a)
    clock.advance(30)
    await a.start()
    await asyncio.sleep(0)  # the task's first round is now waiting for Redis
    assert not a.admit(KEY, CFG).allowed  # no round yet: this wakes the sync task
    for _ in range(100):
        await asyncio.sleep(0.01)
        if a.admit(KEY, CFG).probe:
            break
    else:
        pytest.fail("no probe round within a second")


async def test_an_unreachable_redis_leaves_the_local_breaker_working(
    make: MakeRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    a = make(clock, url="redis://127.0.0.1:1/0")
    caplog.set_level(logging.WARNING, logger="routerx.routing")
    assert a.admit(KEY, CFG).allowed
    fail(a, 5)
    assert not a.admit(KEY, CFG).allowed
    for _ in range(3):
        assert await a.sync_once() is False
    assert not await a.reset(KEY)
    assert a.admit(KEY, CFG).allowed
    fail(a, 5)
    clock.advance(30)
    assert [a.admit(KEY, CFG).allowed for _ in range(4)] == [True, True, True, False]
    assert len([r for r in caplog.records if "unavailable" in r.getMessage()]) == 1


async def test_a_silent_redis_is_cut_off_by_the_timeout(make: MakeRegistry) -> None:
    async def swallow(reader: asyncio.StreamReader, _: asyncio.StreamWriter) -> None:
        await reader.read(-1)

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        default = inspect.signature(BreakerRegistry.from_redis_url).parameters["redis_timeout_s"]
        a = make(FakeClock(), url=f"redis://127.0.0.1:{port}/0", redis_timeout_s=default.default)
        fail(a, 5)
        started = time.monotonic()
        assert await a.sync_once() is False
        assert time.monotonic() - started < 1.0
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await server.wait_closed()


class FlakyStore:
    """The real store behind a switch that simulates an outage, and a mid-flight hook."""

    def __init__(self, inner: RedisBreakerStore) -> None:
        self.inner = inner
        self.down = False
        self.while_in_flight: Callable[[], None] | None = None

    async def sync(
        self,
        items: Sequence[SyncItem],
        *,
        now_wall: float,
        leader: str,
        lease_s: float,
        with_index: bool,
    ) -> tuple[list[SyncResult], list[str]]:
        if self.down:
            raise StoreUnavailableError("simulated outage")
        if self.while_in_flight is not None:
            self.while_in_flight()
        return await self.inner.sync(
            items, now_wall=now_wall, leader=leader, lease_s=lease_s, with_index=with_index
        )

    async def reset(self, key: str) -> int:
        if self.down:
            raise StoreUnavailableError("simulated outage")
        return await self.inner.reset(key)

    async def aclose(self) -> None:
        return None


async def test_sharing_resumes_after_an_outage(
    make: MakeRegistry, store: RedisBreakerStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="routerx.routing")
    clock = FakeClock()
    flaky = FlakyStore(store)
    shared: SharedStore = flaky
    a = BreakerRegistry(store=shared, clock=clock, rng=lambda: 0.5)
    b = make(clock)
    flaky.down = True
    assert not await a.sync_once()
    fail(a, 5)
    assert not await a.sync_once()
    flaky.down = False
    await sync(a, b)
    assert not b.admit(KEY, CFG).allowed
    messages = [r.getMessage() for r in caplog.records]
    assert len([m for m in messages if "unavailable" in m]) == 1
    assert len([m for m in messages if "reachable again" in m]) == 1


async def test_a_reset_during_an_outage_is_published_on_recovery(
    make: MakeRegistry, store: RedisBreakerStore
) -> None:
    clock = FakeClock()
    flaky = FlakyStore(store)
    a = BreakerRegistry(store=flaky, clock=clock, rng=lambda: 0.5)
    b = make(clock)
    fail(a, 5)
    await sync(a, b)
    flaky.down = True
    assert not await a.reset(KEY)
    flaky.down = False
    await sync(a, b)
    assert b.admit(KEY, CFG).allowed
    assert a.admit(KEY, CFG).allowed


async def test_sharing_survives_a_redis_restart(
    make: MakeRegistry, private_redis: PrivateRedis
) -> None:
    clock = FakeClock()
    a, b = make(clock, url=private_redis.url), make(clock, url=private_redis.url)
    fail(a, 5)
    await sync(a, b)
    await private_redis.kill()
    assert not await a.sync_once()
    assert not a.admit(KEY, CFG).allowed
    await private_redis.start()  # empty: no state, no scripts loaded
    await sync(a, a)  # the first round finds the state gone, the second publishes it again
    newcomer = make(clock, url=private_redis.url)
    await sync(newcomer)
    assert not newcomer.admit(KEY, CFG).allowed
    assert open_until(newcomer) == pytest.approx(open_until(a), abs=1e-3)


async def test_an_outage_lets_a_waiting_half_open_breaker_probe_locally(
    store: RedisBreakerStore,
) -> None:
    clock = FakeClock()
    flaky = FlakyStore(store)
    a = BreakerRegistry(store=flaky, clock=clock, rng=lambda: 0.5)
    fail(a, 5)
    await sync(a)
    clock.advance(30)
    assert not a.admit(KEY, CFG).allowed  # waits for a shared probe round
    flaky.down = True
    assert not await a.sync_once()
    assert [a.admit(KEY, CFG).probe for _ in range(4)] == [True, True, True, False]


async def test_a_probe_round_granted_during_an_outage_is_withdrawn_on_recovery(
    make: MakeRegistry, store: RedisBreakerStore
) -> None:
    clock = FakeClock()
    flaky = FlakyStore(store)
    a = BreakerRegistry(store=flaky, clock=clock, rng=lambda: 0.5)
    b = make(clock)
    fail(a, 5)
    await sync(a, b)
    clock.advance(30)
    flaky.down = True
    assert not await a.sync_once()
    assert a.admit(KEY, CFG).probe  # local probing while the store is down
    assert not b.admit(KEY, CFG).allowed
    await sync(b)  # meanwhile b takes the shared probe round
    assert b.admit(KEY, CFG).probe
    flaky.down = False
    await sync(a)
    assert not a.admit(KEY, CFG).allowed


async def test_probes_that_succeed_during_an_outage_close_everywhere_on_recovery(
    make: MakeRegistry, store: RedisBreakerStore
) -> None:
    clock = FakeClock()
    flaky = FlakyStore(store)
    a = BreakerRegistry(store=flaky, clock=clock, rng=lambda: 0.5)
    b = make(clock)
    fail(a, 5)
    await sync(a, b)
    clock.advance(30)
    flaky.down = True
    assert not await a.sync_once()
    for _ in range(3):
        assert a.admit(KEY, CFG).probe
        a.record(KEY, CFG, Outcome.SUCCESS)
    flaky.down = False
    await sync(a, b)
    assert a.admit(KEY, CFG).allowed
    assert b.admit(KEY, CFG).allowed


async def test_an_expired_probe_lease_lets_the_same_process_claim_again(
    make: MakeRegistry,
) -> None:
    clock = FakeClock()
    a = make(clock, probe_lease_s=5.0)
    fail(a, 5)
    await sync(a)
    clock.advance(30)
    a.admit(KEY, CFG)
    await sync(a)
    assert a.admit(KEY, CFG).probe
    a.record(KEY, CFG, Outcome.SUCCESS)
    clock.advance(6)  # no probe in flight, so the lease was not renewed
    assert not a.admit(KEY, CFG).allowed
    await sync(a, a)
    assert a.admit(KEY, CFG).probe


async def test_a_local_open_during_a_sync_round_is_not_undone_by_its_reply(
    make: MakeRegistry, store: RedisBreakerStore
) -> None:
    clock = FakeClock()
    flaky = FlakyStore(store)
    a = BreakerRegistry(store=flaky, clock=clock, rng=lambda: 0.5)
    assert await a.reset(KEY)  # the shared state now exists, closed
    a.record(KEY, CFG, Outcome.SUCCESS)
    flaky.while_in_flight = lambda: fail(a, 5)
    await sync(a)
    flaky.while_in_flight = None
    assert not a.admit(KEY, CFG).allowed
    await sync(a)
    shared = await store.read_state(KEY)
    assert shared is not None and shared.open


async def test_syncs_keep_the_state_of_an_open_breaker_alive(
    make: MakeRegistry, redis_url: str, prefix: str
) -> None:
    clock = FakeClock()
    a = make(clock, key_ttl_s=100.0)
    fail(a, 5)
    await sync(a)
    clock.advance(100)  # half-open for 70 s: the TTL now runs from the last sync
    await sync(a)
    client = Redis.from_url(redis_url)
    try:
        ttl_ms = await client.pttl(f"{prefix}:{KEY}:state")
    finally:
        await client.aclose()
    assert 99_000 < ttl_ms <= 100_000
