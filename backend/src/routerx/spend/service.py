"""The spend stage of the pipeline: budgets before the upstream call, cost after it.

`admit` runs once the route is planned: with no budget on the tenant or key it returns at
once. `settle` runs when the request ends: every attempt priced, the request's total on its
log row and metrics, the budget holds replaced by the actual cost.
"""

from __future__ import annotations

import asyncio
import logging
import math
from random import Random
from typing import TYPE_CHECKING

from routerx.core.background import bounded, stop_task
from routerx.core.clock import Clock, SystemClock
from routerx.core.log_row import LogRow
from routerx.core.snapshot import ConfigSnapshot, KeyEntry
from routerx.gateway import errors
from routerx.routing.capabilities import Needs
from routerx.routing.rules import NoRoute, RoutePlan, plan_route
from routerx.spend.alerts import BudgetAlerts
from routerx.spend.attempt_costs import Billed, price_attempts
from routerx.spend.budget_hold import BudgetHold
from routerx.spend.config import BudgetEntry
from routerx.spend.cost import worst_case_cost
from routerx.spend.hooks import spend_estimate
from routerx.spend.ledger import Account, BudgetLedger
from routerx.spend.metrics import observe_cost
from routerx.spend.money import usd_text
from routerx.spend.periods import period_end
from routerx.spend.prices import PriceBook
from routerx.spend.shared_store import SpendStore
from routerx.spend.sync import SpendSync
from routerx.spend.webhook import WebhookSender
from routerx.wire.openai import Usage

if TYPE_CHECKING:
    from routerx.gateway.fronts.base import Canonical

log = logging.getLogger("routerx.spend")
DEFAULT_OUTPUT_TOKENS = 4096  # the worst case of a request without max_tokens (capped by
# the model's max output)


def insufficient_quota(account: Account, now: float) -> errors.GatewayError:
    budget = account.budget
    reset = period_end(budget.period, now)
    who = "tenant" if budget.scope == "tenant" else "API key"
    per = "" if budget.period == "lifetime" else f" per {budget.period}"
    when = (
        f" It resets at {reset.isoformat().replace('+00:00', 'Z')}."
        if reset is not None
        else " It does not reset."
    )
    message = (
        f"Budget exhausted: the {who}'s budget of ${usd_text(budget.amount_pico)}{per} "
        f"is used (${usd_text(account.spent)} spent).{when}"
    )
    headers = {}
    if reset is not None:
        headers["retry-after"] = str(max(1, math.ceil(reset.timestamp() - now)))
    return errors.GatewayError(
        429, message, "insufficient_quota", None, "insufficient_quota", headers
    )


class SpendService:
    def __init__(
        self,
        *,
        store: SpendStore | None = None,
        clock: Clock | None = None,
        webhook: WebhookSender | None = None,
        webhook_url: str = "",
        sync_interval_s: float = 0.1,
        persist_interval_s: float = 1.0,
        default_output_tokens: int = DEFAULT_OUTPUT_TOKENS,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.book = PriceBook()
        self.ledger = BudgetLedger()
        self.store = store
        self.sync = SpendSync(
            self.ledger,
            store,
            self.clock,
            sync_interval_s=sync_interval_s,
            persist_interval_s=persist_interval_s,
        )
        self.alerts = BudgetAlerts(webhook or WebhookSender(), webhook_url)
        self.default_output_tokens = default_output_tokens
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def status(self) -> str:
        if self.store is None:
            return "disabled"
        return "ok" if self.sync.reachable else "unreachable"

    def install(self, snapshot: ConfigSnapshot) -> None:
        self.book = PriceBook(snapshot.spend.prices)

    def budgets_of(self, snapshot: ConfigSnapshot, key: KeyEntry) -> list[BudgetEntry]:
        budgets = snapshot.spend.budgets
        if not budgets:
            return []
        found = [budgets.get(("key", key.id)), budgets.get(("tenant", key.tenant.id))]
        return [b for b in found if b is not None]

    def worst_case(self, plan: RoutePlan, prompt_tokens: int, output_cap: int | None) -> int:
        worst = 0
        for target in plan.targets:
            rates = self.book.rates(target.provider.name, target.model)
            cap = output_cap
            if cap is None:
                limit = rates.max_output if rates is not None else None
                cap = min(self.default_output_tokens, limit or self.default_output_tokens)
            worst = max(worst, worst_case_cost(prompt_tokens, cap, rates))
        return worst

    async def admit(
        self,
        snapshot: ConfigSnapshot,
        key: KeyEntry,
        plan: RoutePlan,
        needs: Needs,
        canonical: Canonical,
        row: LogRow,
        rng: Random,
    ) -> tuple[RoutePlan, BudgetHold | None]:
        """The plan to follow (a budget may downgrade it) and the hold to settle; raises the
        429 insufficient_quota of a refusing budget."""
        budgets = self.budgets_of(snapshot, key)
        if not budgets:
            return plan, None
        now = self.clock.time()
        accounts = [self.ledger.get(budget, now) for budget in budgets]
        for account in accounts:
            await self.sync.ensure_loaded(account)
        prompt_tokens, output_cap = spend_estimate(canonical)
        worst = self.worst_case(plan, prompt_tokens, output_cap)
        exhausted = [a for a in accounts if not a.fits(worst)]
        if exhausted:
            for account in exhausted:
                crossings = self.ledger.exhausted(account)
                if crossings:
                    self.alerts.crossed(crossings, now)
            refusing = next((a for a in exhausted if a.budget.action != "downgrade"), None) or next(
                (a for a in exhausted if not a.budget.downgrade_model), None
            )
            if refusing is not None:
                row.error_type = "insufficient_quota"
                raise insufficient_quota(refusing, now)
            downgrade = exhausted[0].budget.downgrade_model or ""
            try:
                plan = plan_route(snapshot, downgrade, key.tenant, needs, rng)
            except NoRoute:
                log.warning("budget downgrade model %s has no route: refusing", downgrade)
                row.error_type = "insufficient_quota"
                raise insufficient_quota(exhausted[0], now) from None
            row.budget_action = "downgraded"
            worst = self.worst_case(plan, prompt_tokens, output_cap)
        return plan, self.ledger.hold(accounts, worst)

    def price(self, row: LogRow, billed: list[Billed]) -> None:
        price_attempts(row, billed, self.book)

    def settle(self, row: LogRow, billed: list[Billed], hold: BudgetHold | None) -> None:
        """Price the request, count it in the metrics, settle its budget holds. Never raises:
        the request's log row is written after this, whatever happens here."""
        try:
            price_attempts(row, billed, self.book)
            observe_cost(row, self.book)
        except Exception:
            log.exception("pricing request %s failed: its cost is unknown", row.request_id)
            row.cost_picousd = None
        if hold is not None:
            crossings = self.ledger.settle(hold, row.cost_picousd or 0)
            if crossings:
                self.alerts.crossed(crossings, self.clock.time())

    def price_probe(self, row: LogRow, usage: Usage) -> None:
        """A health probe's answer: priced and counted in the cost metrics like a request's,
        charged to no budget (a probe belongs to no tenant)."""
        self.settle(row, [Billed(row.provider or "", row.upstream_model or "", usage)], None)

    async def start(self) -> None:
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self.sync.run_persist(), name="routerx-spend-db"),
                asyncio.create_task(self.sync.run_loads(), name="routerx-spend-loads"),
                asyncio.create_task(self.alerts.run(), name="routerx-spend-alerts"),
            ]
            if self.store is not None:
                self._tasks.append(
                    asyncio.create_task(self.sync.run_shared(), name="routerx-spend-sync")
                )

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            await stop_task(task)
        await bounded(self.sync.sync_shared_once())
        await bounded(self.sync.persist_once())
        await bounded(self.alerts.close())
        if self.store is not None:
            await bounded(self.store.aclose())
