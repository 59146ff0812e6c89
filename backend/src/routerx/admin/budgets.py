"""Budgets on tenants and API keys: amount per period, alert thresholds, the hard action,
and where each stands in its current period."""

from __future__ import annotations

import re
import time
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

import msgspec
from tortoise.functions import Sum
from tortoise.transactions import in_transaction

from routerx.admin import audit
from routerx.admin.endpoint import Call
from routerx.admin.errors import invalid, not_found
from routerx.admin.pagination import Timestamp
from routerx.spend.money import picodollars, usd_text
from routerx.spend.periods import period_end, period_key, period_start
from routerx.storage.config_version import bump_config_version
from routerx.storage.models import ApiKey, Budget, BudgetAlert, RequestLog, SpendPeriod, Tenant

Period = Literal["day", "week", "month", "lifetime"]
Action = Literal["refuse", "downgrade"]
Threshold = Annotated[int, msgspec.Meta(ge=1, le=100)]
Amount = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^\d{1,6}(\.\d{1,12})?$",
        description='USD as a decimal string, e.g. "25.00" (below one million).',
    ),
]
ModelName = Annotated[
    str, msgspec.Meta(min_length=1, max_length=200, pattern=r"^[^\x00-\x20\x7f]+$")
]
WebhookUrl = Annotated[str, msgspec.Meta(max_length=500, pattern=r"^https?://[^\s]+$")]
_SAFE_URL = re.compile(r"^https?://[^\s@]+$")


class BudgetSet(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    amount_usd: Amount
    period: Period = "month"
    thresholds: Annotated[list[Threshold], msgspec.Meta(max_length=10)] = msgspec.field(
        default_factory=lambda: [50, 80, 100]
    )
    action: Action = "refuse"
    downgrade_model: ModelName | None = None
    webhook_url: WebhookUrl | None = None


class BudgetView(msgspec.Struct):
    scope: str
    subject_id: int
    amount_usd: str
    period: Period
    thresholds: list[int]
    action: Action
    downgrade_model: str | None
    webhook_url: str | None
    period_key: str
    spent_usd: str
    percent: float
    exhausted: bool  # the budget refused or downgraded a request this period
    resets_at: Timestamp | None
    updated_at: Timestamp


async def _subject(call: Call) -> tuple[str, int]:
    tenant_id = call.path["tenant_id"]
    if not await Tenant.exists(id=tenant_id):
        raise not_found("Tenant", tenant_id)
    key_id = call.path.get("key_id")
    if key_id is None:
        return "tenant", tenant_id
    if not await ApiKey.exists(id=key_id, tenant_id=tenant_id):
        raise not_found("API key", key_id)
    return "key", key_id


async def budget_view(budget: Budget, now: float | None = None) -> BudgetView:
    moment = time.time() if now is None else now
    key = period_key(budget.period, moment)
    row = await SpendPeriod.get_or_none(
        scope=budget.scope, subject_id=budget.subject_id, period=key
    )
    spent = row.spent_pico if row is not None else 0
    exhausted = await BudgetAlert.exists(
        scope=budget.scope, subject_id=budget.subject_id, period=key, threshold=100
    )
    percent = round(100 * spent / budget.amount_pico, 2) if budget.amount_pico else 100.0
    return BudgetView(
        budget.scope,
        budget.subject_id,
        usd_text(budget.amount_pico) or "0.00",
        budget.period,  # type: ignore[arg-type]
        list(budget.thresholds or []),
        budget.action,  # type: ignore[arg-type]
        budget.downgrade_model,
        budget.webhook_url,
        key,
        usd_text(spent) or "0.00",
        percent,
        exhausted or spent >= budget.amount_pico,
        period_end(budget.period, moment),
        budget.updated_at,
    )


async def count_logged_spend(budget: Budget) -> None:
    """A budget set mid-period starts from what the request log says was spent so far."""
    now = time.time()
    rows = RequestLog.filter(**{f"{budget.scope}_id": budget.subject_id})
    start = period_start(budget.period, now)
    if start is not None:
        rows = rows.filter(created_at__gte=start)
    found = await rows.annotate(total=Sum("cost_picousd")).values("total")
    logged = int(found[0]["total"] or 0) if found else 0
    if logged <= 0:
        return
    key = period_key(budget.period, now)
    where: dict[str, Any] = {"scope": budget.scope, "subject_id": budget.subject_id, "period": key}
    row = await SpendPeriod.get_or_none(**where)
    if row is None:
        await SpendPeriod.create(**where, spent_pico=logged)
    elif row.spent_pico < logged:
        row.spent_pico = logged
        await row.save()


async def read_budget(call: Call) -> BudgetView:
    scope, subject = await _subject(call)
    budget = await Budget.get_or_none(scope=scope, subject_id=subject)
    if budget is None:
        raise not_found("Budget of " + scope, subject)
    return await budget_view(budget)


def _amount(text: str) -> int:
    try:
        amount = picodollars(Decimal(text))
    except InvalidOperation:
        raise invalid("`amount_usd` must be a decimal amount.", "amount_usd") from None
    if amount <= 0:
        raise invalid("`amount_usd` must be more than 0.", "amount_usd")
    return amount


async def put_budget(call: Call) -> BudgetView:
    body: BudgetSet = call.body
    scope, subject = await _subject(call)
    if body.action == "downgrade" and not body.downgrade_model:
        raise invalid("A downgrade budget names the model to route to.", "downgrade_model")
    if body.webhook_url is not None and not _SAFE_URL.match(body.webhook_url):
        raise invalid("`webhook_url` must be an http(s) URL without credentials.", "webhook_url")
    values: dict[str, Any] = {
        "amount_pico": _amount(body.amount_usd),
        "period": body.period,
        "thresholds": sorted(set(body.thresholds)),
        "action": body.action,
        "downgrade_model": body.downgrade_model if body.action == "downgrade" else None,
        "webhook_url": body.webhook_url,
    }
    async with in_transaction():
        budget = await Budget.get_or_none(scope=scope, subject_id=subject)
        before = await budget_view(budget) if budget is not None else None
        if budget is None:
            budget = await Budget.create(scope=scope, subject_id=subject, **values)
            await count_logged_spend(budget)
        else:
            budget.update_from_dict(values)
            await budget.save()
        after = await budget_view(budget)
        await audit.record(
            call.actor,
            "update" if before else "create",
            "budget",
            f"{scope}:{subject}",
            before,
            after,
        )
    await bump_config_version()
    return after


async def delete_budget(call: Call) -> None:
    scope, subject = await _subject(call)
    budget = await Budget.get_or_none(scope=scope, subject_id=subject)
    if budget is None:
        raise not_found("Budget of " + scope, subject)
    async with in_transaction():
        await audit.record(
            call.actor, "delete", "budget", f"{scope}:{subject}", await budget_view(budget)
        )
        await budget.delete()
    await bump_config_version()


class BudgetList(msgspec.Struct):
    data: list[BudgetView]


async def list_budgets(call: Call) -> BudgetList:
    """Every budget with its current standing (the Spend page's top of budgets)."""
    now = time.time()
    return BudgetList([await budget_view(b, now) for b in await Budget.all().order_by("id")])
