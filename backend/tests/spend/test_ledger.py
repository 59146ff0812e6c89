"""The budget ledger on its own (no Redis, no database): an account's view, holds and their
settlement, the thresholds crossed once each, and which accounts of past periods are dropped."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from routerx.spend.config import BudgetEntry
from routerx.spend.ledger import Account, BudgetLedger, Crossing, account_name

DAY = 86_400.0
NOW = datetime(2026, 12, 4, 12, tzinfo=UTC).timestamp()


def budget(amount: int = 1000, thresholds: tuple[int, ...] = (50, 80, 100)) -> BudgetEntry:
    return BudgetEntry("tenant", 7, amount, "day", thresholds)


def crossed(crossings: list[Crossing]) -> list[tuple[int, int]]:
    return [(c.threshold, c.spent) for c in crossings]


def test_a_new_account_has_spent_nothing_and_is_not_loaded() -> None:
    account = BudgetLedger().get(budget(), NOW)
    assert (account.name, account.period) == ("tenant:7:2026-12-04", "2026-12-04")
    assert (account.shared, account.pending_shared, account.unacked, account.unacked_seq) == (
        0,
        0,
        0,
        0,
    )
    assert (account.pending_db, account.reserved, account.db_known) == (0, 0, 0)
    assert account.loaded is False and account.fired == set()
    assert (account.spent, account.committed) == (0, 0)


def test_the_account_name_is_scope_subject_and_period() -> None:
    assert account_name(budget(), NOW) == ("tenant:7:2026-12-04", "2026-12-04")


def test_spent_and_committed_add_every_part() -> None:
    account = Account("a", budget(), "p", shared=100, pending_shared=20, unacked=3, reserved=4000)
    assert account.spent == 123  # settled, whether pushed, unacknowledged or not yet pushed
    assert account.committed == 4123  # and the worst cases in flight


def test_a_worst_case_fits_up_to_the_amount_exactly() -> None:
    account = Account("a", budget(1000), "p", shared=600, pending_shared=100, reserved=200)
    assert account.fits(100)  # 900 + 100 == 1000
    assert not account.fits(101)
    assert Account("b", budget(1000), "p", shared=1000).fits(0)


def test_accounts_are_compared_by_identity_and_keep_their_fields() -> None:
    one, other = Account("a", budget(), "p"), Account("a", budget(), "p")
    assert one != other and len({one, other}) == 2  # hashable: one account per object
    with pytest.raises(AttributeError):
        one.spnet = 1  # type: ignore[attr-defined]  # slots: a misspelt field is an error
    crossing = Crossing(one, 50, 500)
    with pytest.raises(dataclasses.FrozenInstanceError):
        crossing.spent = 1  # type: ignore[misc]
    with pytest.raises((AttributeError, TypeError)):
        crossing.extra = 1  # type: ignore[attr-defined]


def test_get_returns_the_same_account_and_refreshes_its_budget() -> None:
    ledger = BudgetLedger()
    first = budget(1000)
    account = ledger.get(first, NOW)
    assert ledger.get(first, NOW + 60) is account and account.budget is first
    raised = budget(5000)
    assert ledger.get(raised, NOW + 120) is account
    assert account.budget is raised  # an admin's change reaches the running account
    assert list(ledger.accounts) == ["tenant:7:2026-12-04"]
    tomorrow = ledger.get(raised, NOW + DAY)
    assert tomorrow is not account and tomorrow.name == "tenant:7:2026-12-05"


def test_a_hold_reserves_on_every_account_and_settling_replaces_it() -> None:
    ledger = BudgetLedger()
    tenant = ledger.get(budget(10_000), NOW)
    key = ledger.get(BudgetEntry("key", 3, 10_000, "day"), NOW)
    tenant.reserved = 5
    hold = ledger.hold([tenant, key], 300)
    assert (hold.accounts, hold.reserved_pico, hold.settled) == ([tenant, key], 300, False)
    assert (tenant.reserved, key.reserved) == (305, 300)
    assert ledger.settle(hold, 120) == []
    assert hold.settled
    for account in (tenant, key):
        assert (account.pending_shared, account.pending_db) == (120, 120)
        assert account.spent == 120
    assert (tenant.reserved, key.reserved) == (5, 0)


def test_a_hold_is_settled_once() -> None:
    ledger = BudgetLedger()
    account = ledger.get(budget(1000), NOW)
    hold = ledger.hold([account], 700)
    assert crossed(ledger.settle(hold, 600)) == [(50, 600)]
    assert ledger.settle(hold, 600) == []  # settled again: nothing more counted or released
    assert (account.reserved, account.pending_shared, account.pending_db) == (0, 600, 600)


def test_a_free_answer_releases_the_hold_without_counting() -> None:
    ledger = BudgetLedger()
    account = ledger.get(budget(1000), NOW)
    account.shared = 900  # other processes spent it: this one has not seen the crossings
    assert ledger.settle(ledger.hold([account], 50), 0) == []
    assert (account.reserved, account.pending_shared, account.pending_db) == (0, 0, 0)
    assert account.fired == set()
    # The smallest cost counts, and reports what the shared spend already crossed.
    assert crossed(ledger.settle(ledger.hold([account], 50), 1)) == [(50, 901), (80, 901)]
    assert (account.pending_shared, account.pending_db) == (1, 1)


def test_each_threshold_is_crossed_once_at_its_exact_share() -> None:
    ledger = BudgetLedger()
    account = ledger.get(budget(1000), NOW)
    assert ledger.settle(ledger.hold([account], 10), 499) == []  # 49.9 %
    assert crossed(ledger.settle(ledger.hold([account], 10), 1)) == [(50, 500)]
    assert ledger.settle(ledger.hold([account], 10), 299) == []  # 79.9 %
    assert crossed(ledger.settle(ledger.hold([account], 10), 1)) == [(80, 800)]
    assert crossed(ledger.settle(ledger.hold([account], 10), 300)) == [(100, 1100)]
    assert ledger.settle(ledger.hold([account], 10), 5) == []
    assert account.fired == {50, 80, 100}


def test_an_exhausted_budget_reports_each_threshold_not_yet_reached_once() -> None:
    ledger = BudgetLedger()
    account = ledger.get(budget(1000), NOW)
    ledger.settle(ledger.hold([account], 10), 600)
    found = ledger.exhausted(account)
    assert [(c.account, c.threshold, c.spent) for c in found] == [
        (account, 80, 600),
        (account, 100, 600),
    ]
    assert account.fired == {50, 80, 100}
    assert ledger.exhausted(account) == []


def past_account(ledger: BudgetLedger, **fields: int) -> Account:
    account = ledger.get(budget(), NOW - DAY)
    for name, value in fields.items():
        setattr(account, name, value)
    return account


@pytest.mark.parametrize("busy", ["reserved", "pending_db", "pending_shared", "unacked"])
def test_a_past_period_is_kept_while_anything_of_it_is_in_flight(busy: str) -> None:
    ledger = BudgetLedger()
    kept = past_account(ledger, **{busy: 5})
    ledger.evict(NOW)
    assert ledger.accounts == {kept.name: kept}


def test_a_settled_past_period_is_dropped_and_the_current_one_kept() -> None:
    ledger = BudgetLedger()
    past_account(ledger, shared=900)
    current = ledger.get(budget(), NOW)
    ledger.evict(NOW)
    assert ledger.accounts == {current.name: current}
