"""Threshold alerts: an audit entry and a JSON webhook, once per threshold per period.

The database decides "once" fleet-wide (a unique row per account, period and threshold); a
process also remembers what it has seen so that it asks the database only on a crossing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from routerx.spend.ledger import Crossing
from routerx.spend.money import usd_text
from routerx.spend.periods import period_end
from routerx.spend.persistence import claim_alert, mark_delivered
from routerx.spend.webhook import WebhookSender
from routerx.storage.models import AuditEntry

log = logging.getLogger("routerx.spend")


def alert_payload(crossing: Crossing, now: float) -> dict[str, Any]:
    account, budget = crossing.account, crossing.account.budget
    reset = period_end(budget.period, now)
    return {
        "type": "budget.threshold_crossed",
        "scope": budget.scope,
        "subject_id": budget.subject_id,
        "tenant_id": budget.tenant_id,
        "period": budget.period,
        "period_key": account.period,
        "threshold_percent": crossing.threshold,
        "amount_usd": usd_text(budget.amount_pico),
        "spent_usd": usd_text(crossing.spent),
        "action": budget.action,
        "resets_at": reset.isoformat().replace("+00:00", "Z") if reset else None,
    }


class BudgetAlerts:
    def __init__(self, sender: WebhookSender, global_url: str = "") -> None:
        self.sender = sender
        self.global_url = global_url
        self._tasks: set[asyncio.Task[None]] = set()
        self._queue: asyncio.Queue[tuple[Crossing, float]] = asyncio.Queue()
        self.delivered = 0

    def crossed(self, crossings: list[Crossing], now: float) -> None:
        for crossing in crossings:
            self._queue.put_nowait((crossing, now))

    async def run(self) -> None:
        """Deliver from the server's lifespan task (the database context lives there), each
        alert in its own task so that one slow receiver does not hold the others."""
        while True:
            crossing, now = await self._queue.get()
            task = asyncio.create_task(self._deliver(crossing, now))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(self, crossing: Crossing, now: float) -> None:
        name = crossing.account.name
        try:
            if not await claim_alert(name, crossing.threshold, crossing.spent):
                return
            payload = alert_payload(crossing, now)
            budget = crossing.account.budget
            await AuditEntry.create(
                actor="gateway",
                action="budget.threshold",
                resource_type=budget.scope,
                resource_id=str(budget.subject_id),
                after=payload,
            )
            urls = list(dict.fromkeys(u for u in (self.global_url, budget.webhook_url) if u))
            results = [await self.sender.post(url, payload) for url in urls]
            if all(results):
                await mark_delivered(name, crossing.threshold)
                self.delivered += 1
        except Exception:
            log.exception("budget alert for %s at %d%% failed", name, crossing.threshold)

    async def drain(self) -> None:
        while not self._queue.empty():
            crossing, now = self._queue.get_nowait()
            await self._deliver(crossing, now)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self) -> None:
        await self.drain()
        await self.sender.close()
