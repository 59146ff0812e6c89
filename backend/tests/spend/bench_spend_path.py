"""CPU cost of the spend stage per request: `python -m tests.spend.bench_spend_path` (from
backend/). Without budgets: pricing the answer and counting it. With budgets on the tenant and
its key: also admission with the worst case, the reservation and the settlement."""

from __future__ import annotations

import asyncio
import random
import time

from routerx.core.log_row import Attempt, LogRow
from routerx.core.snapshot import ConfigSnapshot, KeyEntry, RuleEntry, TenantEntry
from routerx.gateway.fronts.chat import ChatFront
from routerx.providers.base import ProviderConfig
from routerx.routing.capabilities import Needs
from routerx.routing.rules import PlannedTarget, RoutePlan
from routerx.spend.attempt_costs import Billed
from routerx.spend.config import BudgetEntry, SpendConfig
from routerx.spend.service import SpendService
from routerx.wire.openai import PromptTokensDetails, Usage

CALLS = 50_000
TENANT = TenantEntry(1, "t", True, frozenset())
KEY = KeyEntry(7, TENANT)
PROVIDER = ProviderConfig(1, "mock-text", "mock")
PLAN = RoutePlan(
    RuleEntry(1, "r", "gpt-4.1-mini", "text", None, ()),
    (PlannedTarget(PROVIDER, "gpt-4.1-mini", 0, 1), PlannedTarget(PROVIDER, "gpt-4.1-nano", 1, 1)),
    "primary",
)
NEEDS = Needs("text", frozenset({"text"}))
CANONICAL = ChatFront().decode(
    {
        "model": "gpt-4.1-mini",
        "messages": [{"role": "user", "content": "hi " * 40}],
        "max_tokens": 200,
    }
)
USAGE = Usage(60, 150, 210, PromptTokensDetails(20))


def snapshot(budgets: bool) -> ConfigSnapshot:
    entries = {}
    if budgets:
        for scope, subject in (("tenant", 1), ("key", 7)):
            entries[scope, subject] = BudgetEntry(scope, subject, 10**18, "month", (50, 80, 100))
    return ConfigSnapshot(version=1, spend=SpendConfig((), entries))


async def per_request_us(budgets: bool) -> float:
    spend = SpendService()
    config = snapshot(budgets)
    rng = random.Random(1)
    best = float("inf")
    for account in [spend.ledger.get(b, time.time()) for b in config.spend.budgets.values()]:
        account.loaded = True  # read from the database once per process: not per request
    for _ in range(5):
        started = time.process_time()
        for _ in range(CALLS):
            row = LogRow(request_id="r", created_at=0.0, status=200)
            _, hold = await spend.admit(config, KEY, PLAN, NEEDS, CANONICAL, row, rng)
            row.attempts.append(Attempt("mock-text", "gpt-4.1-mini", "success"))
            spend.settle(row, [Billed("mock-text", "gpt-4.1-mini", USAGE)], hold)
        best = min(best, time.process_time() - started)
    return best / CALLS * 1e6


def main() -> None:
    without = asyncio.run(per_request_us(False))
    with_budgets = asyncio.run(per_request_us(True))
    print(f"spend stage without budgets:          {without:6.1f} us/request")
    print(f"spend stage with tenant + key budgets: {with_budgets:6.1f} us/request")
    print(f"added by budgets:                      {with_budgets - without:6.1f} us/request")


if __name__ == "__main__":
    main()
