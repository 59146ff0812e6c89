"""Budget accounts, counted locally and shared across processes (the shape of routerx.limits).

Admission and settlement are synchronous and do no I/O. Each account's view is

    shared (all processes, as of the last sync round) + pending (settled here since)
    + reserved (worst cases of the requests in flight here)

A request is admitted when its worst case still fits under the amount, so one process alone
never overspends. Background rounds push the pending spend to Redis (every `sync_interval_s`)
and to the database (every `persist_interval_s`).

Overshoot bound, with Redis up: a process sees another's spend within two sync rounds plus
a round trip, so N processes together can exceed an amount by at most what the *other*
processes settle in that lag, bounded by their in-flight worst cases plus about
2 x interval x their spend rate. With Redis down each process counts alone (from the total it
last knew): no refusal is caused by the outage, and the fleet may overspend by up to what
each process could admit alone. The database keeps each period's total, so a restart or a
Redis flush does not reset a budget.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from routerx.spend.budget_hold import BudgetHold
from routerx.spend.config import BudgetEntry
from routerx.spend.periods import period_key

log = logging.getLogger("routerx.spend")


@dataclass(slots=True, eq=False)
class Account:
    name: str  # scope:subject:period, also the Redis key suffix and the DB row
    budget: BudgetEntry
    period: str
    shared: int = 0
    pending_shared: int = 0  # settled here, not yet pushed to Redis
    unacked: int = 0  # pushed, reply not received: sent again with the same sequence
    unacked_seq: int = 0
    pending_db: int = 0  # settled here, not yet written to the database
    reserved: int = 0
    db_known: int = 0  # the database total at its last read
    loaded: bool = False
    fired: set[int] = field(default_factory=set)

    @property
    def spent(self) -> int:
        """Settled spend as this process knows it (no in-flight reservations)."""
        return self.shared + self.pending_shared + self.unacked

    @property
    def committed(self) -> int:
        return self.spent + self.reserved

    def fits(self, worst_case: int) -> bool:
        return self.committed + worst_case <= self.budget.amount_pico

    def refresh_budget(self, budget: BudgetEntry) -> None:
        self.budget = budget


@dataclass(frozen=True, slots=True)
class Crossing:
    """A threshold this process saw an account cross (alerted once per period fleet-wide)."""

    account: Account
    threshold: int
    spent: int


def account_name(budget: BudgetEntry, now: float) -> tuple[str, str]:
    period = period_key(budget.period, now)
    return f"{budget.scope}:{budget.subject_id}:{period}", period


class BudgetLedger:
    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}

    def get(self, budget: BudgetEntry, now: float) -> Account:
        name, period = account_name(budget, now)
        account = self.accounts.get(name)
        if account is None:
            account = self.accounts[name] = Account(name, budget, period)
        elif account.budget is not budget:
            account.refresh_budget(budget)
        return account

    @staticmethod
    def hold(accounts: list[Account], worst_case: int) -> BudgetHold:
        for account in accounts:
            account.reserved += worst_case
        return BudgetHold(accounts, worst_case)

    @staticmethod
    def settle(hold: BudgetHold, actual: int) -> list[Crossing]:
        """Replace the hold's worst case by the actual cost; the thresholds it crossed."""
        if hold.settled:
            return []
        hold.settled = True
        crossings: list[Crossing] = []
        for account in hold.accounts:
            account.reserved -= hold.reserved_pico
            if actual <= 0:
                continue
            account.pending_shared += actual
            account.pending_db += actual
            crossings.extend(_crossed(account))
        return crossings

    @staticmethod
    def exhausted(account: Account) -> list[Crossing]:
        """A request did not fit: the budget is used up, every threshold is reached."""
        found = []
        for threshold in account.budget.thresholds:
            if threshold not in account.fired:
                account.fired.add(threshold)
                found.append(Crossing(account, threshold, account.spent))
        return found

    def evict(self, now: float) -> None:
        """Drop accounts of past periods once nothing of theirs is pending or in flight."""
        for name, account in list(self.accounts.items()):
            current, _ = account_name(account.budget, now)
            if (
                name != current
                and not account.reserved
                and not account.pending_db
                and not account.pending_shared
                and not account.unacked
            ):
                del self.accounts[name]


def _crossed(account: Account) -> list[Crossing]:
    amount = account.budget.amount_pico
    spent = account.spent
    found = []
    for threshold in account.budget.thresholds:
        if threshold not in account.fired and spent * 100 >= threshold * amount:
            account.fired.add(threshold)
            found.append(Crossing(account, threshold, spent))
    return found
