"""Spend shared through Redis: a push is applied once even when it is sent again, a missing key
starts from the database's floor, and the ledger keeps what Redis did not acknowledge."""

from __future__ import annotations

from routerx.core.clock import SystemClock
from routerx.spend.config import BudgetEntry
from routerx.spend.ledger import BudgetLedger
from routerx.spend.shared_store import RedisSpendStore
from routerx.spend.sync import SpendSync
from tests.support.redis_server import own_key_prefix, private_redis

REDIS = "redis://127.0.0.1:6379/0"


async def test_a_push_sent_again_is_applied_once_and_a_flush_keeps_the_floor() -> None:
    async with own_key_prefix(REDIS, "spend") as prefix:
        store = RedisSpendStore.from_url(REDIS, key_prefix=prefix)
        try:
            assert await store.exchange([("tenant:1:2026-12", 100, 0, 1)]) == [100]
            assert await store.exchange([("tenant:1:2026-12", 100, 0, 1)]) == [100]  # a resend
            assert await store.exchange([("tenant:1:2026-12", 50, 0, 2)]) == [150]
            other = RedisSpendStore.from_url(REDIS, key_prefix=prefix)  # another process
            assert await other.exchange([("tenant:1:2026-12", 7, 0, 1)]) == [157]
            await other.aclose()
            # A key Redis lost starts from the database's total.
            assert await store.exchange([("tenant:2:2026-12", 5, 1000, 3)]) == [1005]
            assert await store.exchange([("tenant:2:2026-12", 0, 1000, 0)]) == [1005]
        finally:
            await store.aclose()


async def test_the_ledger_keeps_an_unacknowledged_push_until_redis_answers() -> None:
    async with private_redis() as redis:
        store = RedisSpendStore.from_url(redis.url, key_prefix="rx-test-spend")
        ledger = BudgetLedger()
        sync = SpendSync(ledger, store, SystemClock())
        budget = BudgetEntry("tenant", 1, 10**15, "month")
        account = ledger.get(budget, 0.0)
        account.loaded = True
        hold = ledger.hold([account], 500)
        ledger.settle(hold, 300)
        await redis.kill()
        assert not await sync.sync_shared_once()
        assert (account.unacked, account.pending_shared, account.spent) == (300, 0, 300)
        ledger.settle(ledger.hold([account], 10), 20)  # settled while Redis is down
        assert account.spent == 320, "counted locally meanwhile"
        await redis.start()
        assert await sync.sync_shared_once()  # the old push, then the new one next round
        assert await sync.sync_shared_once()
        assert (account.shared, account.unacked, account.pending_shared) == (320, 0, 0)
        await store.aclose()
