"""Budget periods in UTC: which period an instant falls in, and when that period ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_KEYS: dict[tuple[str, int], str] = {}


def period_key(period: str, now: float) -> str:
    """Cached per minute: a UTC minute never spans a period boundary (all fall on midnight)."""
    minute = int(now // 60)
    found = _KEYS.get((period, minute))
    if found is None:
        if len(_KEYS) > 64:
            _KEYS.clear()
        found = _KEYS[period, minute] = _period_key(period, now)
    return found


def _period_key(period: str, now: float) -> str:
    moment = datetime.fromtimestamp(now, UTC)
    if period == "day":
        return moment.strftime("%Y-%m-%d")
    if period == "week":  # ISO weeks start on Monday
        year, week, _ = moment.isocalendar()
        return f"{year}-W{week:02d}"
    if period == "month":
        return moment.strftime("%Y-%m")
    return "lifetime"


def period_end(period: str, now: float) -> datetime | None:
    """The instant the period resets (None for a lifetime budget)."""
    moment = datetime.fromtimestamp(now, UTC)
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return midnight + timedelta(days=1)
    if period == "week":
        return midnight + timedelta(days=7 - moment.weekday())
    if period == "month":
        first = midnight.replace(day=1)
        return (first + timedelta(days=32)).replace(day=1)
    return None


def period_start(period: str, now: float) -> datetime | None:
    moment = datetime.fromtimestamp(now, UTC)
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return midnight
    if period == "week":
        return midnight - timedelta(days=moment.weekday())
    if period == "month":
        return midnight.replace(day=1)
    return None
