"""The spend configuration a gateway holds in its snapshot: price overrides and budgets."""

from __future__ import annotations

from dataclasses import dataclass, field

from routerx.catalog import ModelInfo

ANY_PROVIDER = "*"  # a price for a model whichever provider serves it (a loaded price table)
PERIODS = ("day", "week", "month", "lifetime")
ACTIONS = ("refuse", "downgrade")


@dataclass(frozen=True, slots=True)
class PriceEntry:
    """A price set by an admin (or loaded from a file) for one provider and upstream model."""

    provider: str
    model: str
    info: ModelInfo


@dataclass(frozen=True, slots=True)
class BudgetEntry:
    scope: str  # tenant | key
    subject_id: int
    amount_pico: int
    period: str  # day | week | month | lifetime (UTC)
    thresholds: tuple[int, ...] = (50, 80, 100)  # percent of the amount
    action: str = "refuse"  # refuse | downgrade
    downgrade_model: str | None = None  # the model requests are routed as once exhausted
    webhook_url: str | None = None
    tenant_id: int | None = None  # a key budget's tenant, for its alerts


@dataclass(frozen=True, slots=True)
class SpendConfig:
    prices: tuple[PriceEntry, ...] = ()
    budgets: dict[tuple[str, int], BudgetEntry] = field(default_factory=dict)
