"""The background rounds of the budget ledger: Redis every sync interval, the database
every persist interval (see routerx.spend.ledger for the overshoot bound)."""

from __future__ import annotations

import asyncio
import logging
import time

from routerx.core.clock import Clock
from routerx.spend.ledger import Account, BudgetLedger
from routerx.spend.persistence import add_spent, load_spent
from routerx.spend.shared_store import SharedStoreUnavailable, SpendStore

log = logging.getLogger("routerx.spend")
LOAD_TIMEOUT_S = 1.0
LOAD_RETRY_S = 5.0


class SpendSync:
    def __init__(
        self,
        ledger: BudgetLedger,
        store: SpendStore | None,
        clock: Clock,
        *,
        sync_interval_s: float = 0.1,
        persist_interval_s: float = 1.0,
    ) -> None:
        self.ledger = ledger
        self.store = store
        self.clock = clock
        self.sync_interval_s = sync_interval_s
        self.persist_interval_s = persist_interval_s
        self.reachable = store is not None
        self._load_failed_at: dict[str, float] = {}
        self._sequence = 0
        # Database work runs in a task of the server's lifespan (where the ORM's context
        # lives), never in a request's own task.
        self._loads: asyncio.Queue[tuple[Account, asyncio.Future[int]]] = asyncio.Queue()

    async def ensure_loaded(self, account: Account) -> None:
        """The period's total from the database, once per account and process."""
        if account.loaded:
            return
        failed = self._load_failed_at.get(account.name)
        if failed is not None and time.monotonic() - failed < LOAD_RETRY_S:
            return
        loaded: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._loads.put_nowait((account, loaded))
        try:
            async with asyncio.timeout(LOAD_TIMEOUT_S):
                total = await asyncio.shield(loaded)
        except Exception as exc:
            self._load_failed_at[account.name] = time.monotonic()
            log.warning("budget spend could not be read, counting from this process: %s", exc)
            return
        self._load_failed_at.pop(account.name, None)
        account.loaded = True
        account.db_known = max(account.db_known, total)
        account.shared = max(account.shared, total)

    async def sync_shared_once(self) -> bool:
        if self.store is None:
            return False
        accounts = [a for a in self.ledger.accounts.values() if a.loaded]
        if not accounts:
            return True
        for account in accounts:
            if not account.unacked and account.pending_shared:
                self._sequence += 1
                account.unacked, account.unacked_seq = account.pending_shared, self._sequence
                account.pending_shared = 0
        pushes = [(a.name, a.unacked, a.db_known, a.unacked_seq) for a in accounts]
        try:
            totals = await self.store.exchange(pushes)
        except SharedStoreUnavailable as exc:
            # Kept as unacknowledged: sent again with the same sequence, applied at most once.
            if self.reachable:
                log.warning("budget store unavailable, budgets count per process: %s", exc)
            self.reachable = False
            return False
        for account, total in zip(accounts, totals, strict=True):
            account.shared = max(total, account.db_known)
            account.unacked = 0
        if not self.reachable:
            log.warning("budget store reachable again, sharing spend")
        self.reachable = True
        return True

    async def persist_once(self) -> None:
        for account in list(self.ledger.accounts.values()):
            delta = account.pending_db
            if not delta:
                continue
            account.pending_db = 0
            try:
                total = await add_spent(account.name, delta)
            except Exception as exc:
                account.pending_db += delta
                log.warning("budget spend not persisted yet, kept for retry: %s", exc)
                return
            account.db_known = total
            if self.store is None:  # without Redis the database is the shared view
                account.shared = total
                account.pending_shared = account.pending_db  # settled since the delta left
        self.ledger.evict(self.clock.time())

    async def run_shared(self) -> None:
        while True:
            try:
                await self.sync_shared_once()
            except Exception:
                log.exception("budget sync round failed")
            await asyncio.sleep(self.sync_interval_s)

    async def run_loads(self) -> None:
        while True:
            account, loaded = await self._loads.get()
            try:
                total = await load_spent(account.name)
            except Exception as exc:
                if not loaded.done():
                    loaded.set_exception(exc)
                continue
            if not loaded.done():
                loaded.set_result(total)

    async def run_persist(self) -> None:
        while True:
            await asyncio.sleep(self.persist_interval_s)
            try:
                await self.persist_once()
            except Exception:
                log.exception("budget persist round failed")
