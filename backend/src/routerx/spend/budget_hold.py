"""A request's hold on its budgets: the worst case reserved before the upstream call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from routerx.spend.ledger import Account


@dataclass(slots=True)
class BudgetHold:
    accounts: list[Account] = field(default_factory=list)
    reserved_pico: int = 0
    settled: bool = False
