"""Spend: price overrides, budgets, each period's spend and the alerts already sent."""

from typing import Any

from tortoise import fields
from tortoise.models import Model


class PriceOverride(Model):
    """A price for one provider and upstream model (provider "*": any provider, as loaded
    from a price table file). Prices are decimal strings in USD per million tokens."""

    id = fields.IntField(primary_key=True)
    provider = fields.CharField(max_length=100)
    model = fields.CharField(max_length=200)
    prices: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    tiers: fields.JSONField[list[dict[str, Any]]] = fields.JSONField(default=list)
    context_window = fields.IntField(null=True)
    max_output = fields.IntField(null=True)
    source = fields.CharField(max_length=300, default="")
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "price_overrides"
        unique_together = (("provider", "model"),)


class Budget(Model):
    """At most one budget per tenant and per key."""

    id = fields.IntField(primary_key=True)
    scope = fields.CharField(max_length=8)  # tenant | key
    subject_id = fields.IntField()
    amount_pico = fields.BigIntField()  # picodollars (1e-12 USD)
    period = fields.CharField(max_length=8)  # day | week | month | lifetime
    thresholds: fields.JSONField[list[int]] = fields.JSONField(default=list)
    action = fields.CharField(max_length=16, default="refuse")  # refuse | downgrade
    downgrade_model = fields.CharField(max_length=200, null=True)
    webhook_url = fields.CharField(max_length=500, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "budgets"
        unique_together = (("scope", "subject_id"),)


class SpendPeriod(Model):
    """The spend of one tenant or key in one period (day, week, month or lifetime)."""

    id = fields.BigIntField(primary_key=True)
    scope = fields.CharField(max_length=8)
    subject_id = fields.IntField()
    period = fields.CharField(max_length=16)  # 2026-12-03 | 2026-W49 | 2026-12 | lifetime
    spent_pico = fields.BigIntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "spend_periods"
        unique_together = (("scope", "subject_id", "period"),)


class BudgetAlert(Model):
    """One row per threshold crossed per period: the unique key makes it fire once."""

    id = fields.BigIntField(primary_key=True)
    scope = fields.CharField(max_length=8)
    subject_id = fields.IntField()
    period = fields.CharField(max_length=16)
    threshold = fields.IntField()
    spent_pico = fields.BigIntField()
    created_at = fields.DatetimeField(auto_now_add=True)
    delivered = fields.BooleanField(default=False)

    class Meta:
        table = "budget_alerts"
        unique_together = (("scope", "subject_id", "period", "threshold"),)
