"""The contract between the admin API and the gateway's internal endpoints.

Live breaker state and the rule tester's answer exist only inside the gateway, so the admin API
asks it over HTTP with the `x-routerx-internal` header (routerx.auth.internal).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

BreakerStateName = Literal["closed", "open", "half_open"]
ModelName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
TenantId = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]


class TargetBreaker(msgspec.Struct):
    """The breaker of one target: a provider and one of its upstream models."""

    state: BreakerStateName
    calls: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    open_until: float | None = None
    reopen_count: int = 0


class GatewayBreaker(msgspec.Struct):
    """A provider's breakers: the worst of them in the top-level fields, each in `targets`
    (by upstream model)."""

    state: BreakerStateName
    calls: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    open_until: float | None = None
    reopen_count: int = 0
    targets: dict[str, TargetBreaker] = msgspec.field(default_factory=dict)


class GatewayBreakers(msgspec.Struct):
    breakers: dict[str, GatewayBreaker]


class RouteExplainRequest(msgspec.Struct, forbid_unknown_fields=True):
    """What the rule tester asks: which rule and targets would serve this request now?"""

    model: ModelName
    capability: Literal["text", "vision", "embeddings"] = "text"
    tools: bool = False
    json: bool = False
    tenant_id: TenantId | None = None


class ExplainedRule(msgspec.Struct):
    id: int
    name: str
    model_pattern: str
    capability: str
    tenant_id: int | None = None


class ExplainedTarget(msgspec.Struct):
    provider: str
    model: str
    tier: int
    weight: int
    capable: bool
    breaker_state: str
    eligible: bool
    why: str


class RouteExplanation(msgspec.Struct):
    rule: ExplainedRule | None
    reason: str
    targets: list[ExplainedTarget]
    error: str | None = None
