"""Each period's spend in the database: read once per account, incremented in batches."""

from __future__ import annotations

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from routerx.storage.models import BudgetAlert, SpendPeriod


def _split(name: str) -> tuple[str, int, str]:
    scope, subject, period = name.split(":", 2)
    return scope, int(subject), period


async def load_spent(name: str) -> int:
    scope, subject, period = _split(name)
    row = await SpendPeriod.get_or_none(scope=scope, subject_id=subject, period=period)
    return row.spent_pico if row is not None else 0


async def add_spent(name: str, delta: int) -> int:
    """Add `delta` atomically (one UPDATE, or the first INSERT); the new total."""
    scope, subject, period = _split(name)
    where = SpendPeriod.filter(scope=scope, subject_id=subject, period=period)
    if not await where.update(spent_pico=F("spent_pico") + delta):
        try:
            await SpendPeriod.create(
                scope=scope, subject_id=subject, period=period, spent_pico=delta
            )
            return delta
        except IntegrityError:  # another process inserted it first
            await where.update(spent_pico=F("spent_pico") + delta)
    row = await where.first()
    return row.spent_pico if row is not None else delta


async def claim_alert(name: str, threshold: int, spent: int) -> bool:
    """True for the one caller, fleet-wide, that records this threshold for this period."""
    scope, subject, period = _split(name)
    try:
        await BudgetAlert.create(
            scope=scope, subject_id=subject, period=period, threshold=threshold, spent_pico=spent
        )
    except IntegrityError:
        return False
    return True


async def mark_delivered(name: str, threshold: int) -> None:
    scope, subject, period = _split(name)
    await BudgetAlert.filter(
        scope=scope, subject_id=subject, period=period, threshold=threshold
    ).update(delivered=True)
