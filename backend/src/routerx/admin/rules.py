"""Routing rules: for a model pattern and capability, the providers to try, tier by tier.

A rule is checked against the providers as they are now: each target must name an existing
provider that has the rule's capability (a vision rule cannot fall back to a text-only model).
The rule tester asks the running gateway, which knows the live breaker states.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from routerx.admin import audit
from routerx.admin.endpoint import Call, given_fields
from routerx.admin.errors import conflict, gateway_unavailable, invalid, not_found
from routerx.admin.gateway_client import GatewayUnavailable
from routerx.admin.managed import refuse_if_managed
from routerx.admin.pagination import Id, Page, PageQuery, Timestamp, paginate
from routerx.admin.providers import ModelName, ProviderName
from routerx.storage.config_version import bump_config_version
from routerx.storage.models import Provider, RoutingRule, Tenant
from routerx.wire.internal import RouteExplainRequest, RouteExplanation

RuleName = Annotated[
    str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")
]
ModelPattern = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=200,
        pattern=r"^[^\x00-\x20\x7f]+$",
        description="An exact model name, or a glob such as gpt-4.1-* (* ? [..]).",
    ),
]
RuleCapability = Literal["text", "vision", "embeddings"]
# "error": a stream cut after it started ends with an error event; "continue": it is rescued.
StreamRescue = Literal["error", "continue"]
# After a transient failure: one more try at the same target first, or the next target at once.
OnTransient = Literal["retry_same", "fail_over"]
HedgeDelay = Annotated[int, msgspec.Meta(ge=1, le=600_000)] | Literal["auto"]
Balancing = Annotated[
    Literal["weighted", "latency"],
    msgspec.Meta(description="Order inside a tier: weighted shuffle, or fastest measured first."),
]


class Target(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    provider: ProviderName
    model: ModelName | None = None
    weight: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 1
    tier: Annotated[int, msgspec.Meta(ge=0, le=16, description="0 primary, 1 secondary...")] = 0


Targets = Annotated[list[Target], msgspec.Meta(min_length=1, max_length=64)]


class RuleView(msgspec.Struct):
    id: int
    name: str
    model_pattern: str
    capability: RuleCapability
    tenant_id: int | None
    targets: list[Target]
    hedge_delay_ms: int | Literal["auto"] | None
    balancing: Balancing
    enabled: bool
    created_at: Timestamp
    updated_at: Timestamp
    managed_by: str | None
    stream_rescue: StreamRescue = "error"
    on_transient: OnTransient = "retry_same"


class RuleCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: RuleName
    model_pattern: ModelPattern
    capability: RuleCapability = "text"
    tenant_id: Id | None = None
    targets: Targets
    hedge_delay_ms: HedgeDelay | None = None
    balancing: Balancing = "weighted"
    enabled: bool = True
    stream_rescue: StreamRescue = "error"
    on_transient: OnTransient = "retry_same"


class RuleUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: RuleName | UnsetType = UNSET
    model_pattern: ModelPattern | UnsetType = UNSET
    capability: RuleCapability | UnsetType = UNSET
    tenant_id: Id | UnsetType | None = UNSET
    targets: Targets | UnsetType = UNSET
    hedge_delay_ms: HedgeDelay | UnsetType | None = UNSET
    balancing: Balancing | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET
    stream_rescue: StreamRescue | UnsetType = UNSET
    on_transient: OnTransient | UnsetType = UNSET


class RuleQuery(PageQuery, kw_only=True):
    capability: RuleCapability | UnsetType = UNSET
    tenant_id: Id | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET


def _targets(raw: Any) -> list[Target]:
    targets = []
    for item in raw or []:
        if isinstance(item, dict) and isinstance(item.get("provider"), str):
            targets.append(
                Target(
                    provider=item["provider"],
                    model=item.get("model") or None,
                    weight=max(1, int(item.get("weight") or 1)),
                    tier=max(0, int(item.get("tier") or 0)),
                )
            )
    return targets


def _capability(stored: str) -> RuleCapability:
    if stored == "vision":
        return "vision"
    if stored == "embeddings":
        return "embeddings"
    return "text"


def view(rule: RoutingRule) -> RuleView:
    return RuleView(
        rule.id,
        rule.name,
        rule.model_pattern,
        _capability(rule.capability),
        rule.tenant_id,
        _targets(rule.targets),
        "auto" if rule.hedge_delay_auto else rule.hedge_delay_ms,
        "latency" if rule.balancing == "latency" else "weighted",
        rule.enabled,
        rule.created_at,
        rule.updated_at,
        rule.managed_by,
        "continue" if rule.stream_rescue == "continue" else "error",
        "fail_over" if rule.on_transient == "fail_over" else "retry_same",
    )


async def get_rule(rule_id: int) -> RoutingRule:
    rule = await RoutingRule.get_or_none(id=rule_id)
    if rule is None:
        raise not_found("Routing rule", rule_id)
    return rule


async def _validate(capability: str, tenant_id: int | None, targets: list[Target]) -> None:
    if tenant_id is not None and not await Tenant.exists(id=tenant_id):
        raise invalid(f"Tenant {tenant_id} does not exist.", "tenant_id")
    names = {target.provider for target in targets}
    providers = {p.name: p for p in await Provider.filter(name__in=list(names))}
    seen: set[tuple[str, str | None]] = set()
    for index, target in enumerate(targets):
        provider = providers.get(target.provider)
        if provider is None:
            raise invalid(
                f"Provider {target.provider!r} does not exist.", f"targets[{index}].provider"
            )
        if capability not in (provider.capabilities or []):
            raise invalid(
                f"Provider {target.provider!r} lacks the {capability} capability this rule routes.",
                f"targets[{index}].provider",
            )
        if (target.provider, target.model) in seen:
            raise invalid("The same provider and model appear twice.", f"targets[{index}]")
        seen.add((target.provider, target.model))


def _stored_targets(targets: list[Target]) -> list[dict[str, Any]]:
    return [
        {"provider": t.provider, "model": t.model, "weight": t.weight, "tier": t.tier}
        for t in targets
    ]


def _hedge_columns(value: int | str | None) -> dict[str, Any]:
    """`hedge_delay_ms: "auto"` is stored as the flag, a number as the fixed delay."""
    if value == "auto":
        return {"hedge_delay_ms": None, "hedge_delay_auto": True}
    return {"hedge_delay_ms": value, "hedge_delay_auto": False}


def _name_taken(name: object) -> Exception:
    return conflict(f"A rule named {name!r} already exists.", "name")


async def list_rules(call: Call) -> Page[RuleView]:
    query: RuleQuery = call.query
    queryset = RoutingRule.all()
    if query.capability is not UNSET:
        queryset = queryset.filter(capability=query.capability)
    if query.tenant_id is not UNSET:
        queryset = queryset.filter(tenant_id=query.tenant_id)
    if query.enabled is not UNSET:
        queryset = queryset.filter(enabled=query.enabled)
    return await paginate(queryset, query, view)


async def read_rule(call: Call) -> RuleView:
    return view(await get_rule(call.path["rule_id"]))


async def create_rule(call: Call) -> RuleView:
    body: RuleCreate = call.body
    await _validate(body.capability, body.tenant_id, body.targets)
    try:
        async with in_transaction():
            rule = await RoutingRule.create(
                name=body.name,
                model_pattern=body.model_pattern,
                capability=body.capability,
                tenant_id=body.tenant_id,
                targets=_stored_targets(body.targets),
                **_hedge_columns(body.hedge_delay_ms),
                balancing=body.balancing,
                enabled=body.enabled,
                stream_rescue=body.stream_rescue,
                on_transient=body.on_transient,
            )
            await audit.record(call.actor, "create", "routing_rule", rule.id, after=view(rule))
    except IntegrityError:
        raise _name_taken(body.name) from None
    await bump_config_version()
    return view(rule)


async def update_rule(call: Call) -> RuleView:
    body: RuleUpdate = call.body
    rule = await get_rule(call.path["rule_id"])
    refuse_if_managed(call, f"Rule {rule.name!r}", rule.managed_by)
    before = view(rule)
    changes = given_fields(body)
    targets = changes.get("targets", before.targets)
    await _validate(
        changes.get("capability", before.capability),
        changes.get("tenant_id", before.tenant_id),
        targets,
    )
    if "targets" in changes:
        changes["targets"] = _stored_targets(targets)
    if "hedge_delay_ms" in changes:
        changes.update(_hedge_columns(changes["hedge_delay_ms"]))
    try:
        async with in_transaction():
            rule.update_from_dict(changes)
            await rule.save()
            await audit.record(call.actor, "update", "routing_rule", rule.id, before, view(rule))
    except IntegrityError:
        raise _name_taken(changes.get("name")) from None
    await bump_config_version()
    return view(rule)


async def delete_rule(call: Call) -> None:
    rule = await get_rule(call.path["rule_id"])
    refuse_if_managed(call, f"Rule {rule.name!r}", rule.managed_by)
    async with in_transaction():
        await audit.record(call.actor, "delete", "routing_rule", rule.id, before=view(rule))
        await rule.delete()
    await bump_config_version()


async def explain_route(call: Call) -> RouteExplanation:
    """Which rule and targets the running gateway would use for this request, and why."""
    body: RouteExplainRequest = call.body
    if body.tenant_id is not None and not await Tenant.exists(id=body.tenant_id):
        raise invalid(f"Tenant {body.tenant_id} does not exist.", "tenant_id")
    try:
        return await call.services.gateway.explain_route(body)
    except GatewayUnavailable as exc:
        raise gateway_unavailable(f"The rule tester needs the running gateway: {exc}") from None
