"""Pick the routing rule and the ordered targets for a request. Pure: no I/O.

The most specific rule wins: tenant-scoped over global, exact name over pattern, longer literal
prefix over shorter, the rule's own capability over a rule for another capability (whose targets
must then still be capable). Within a tier, targets are ordered by a weighted random shuffle, or,
for a rule with `balancing: latency`, by measured speed (routing.latency).
"""

from __future__ import annotations

import dataclasses
import math
import random
from dataclasses import dataclass
from fnmatch import fnmatchcase

from routerx.core.snapshot import ConfigSnapshot, RuleEntry, Target, TenantEntry
from routerx.providers.base import ProviderConfig
from routerx.routing.capabilities import Needs
from routerx.routing.latency import LatencyTracker, latency_order

WILDCARDS = frozenset("*?[")


@dataclass(frozen=True, slots=True)
class PlannedTarget:
    provider: ProviderConfig
    model: str
    tier: int
    weight: int
    # The target's circuit breaker (see breaker_key); empty: the provider's and the model's.
    breaker_key: str = ""
    why: str = ""  # set when the order inside the tier was chosen by measurement

    @property
    def breaker(self) -> str:
        return self.breaker_key or target_breaker_key(self.provider.name, self.model)


def target_breaker_key(provider: str, model: str | None) -> str:
    """One breaker per target, provider and upstream model ("provider/model"), so that a big
    model's outage does not block its provider's small model; the provider's own key when the
    model is not configured (a client-chosen name must not create breakers)."""
    return f"{provider}/{model}" if model else provider


def configured_model(provider: ProviderConfig, public_model: str, rule_model: str | None) -> bool:
    return bool(rule_model) or public_model in provider.model_map or "*" in provider.model_map


@dataclass(frozen=True, slots=True)
class RoutePlan:
    rule: RuleEntry
    targets: tuple[PlannedTarget, ...]
    reason: str


class NoRoute(Exception):
    """No rule serves the model (`model_not_found`) or no target has a needed capability."""

    def __init__(self, code: str, missing_capability: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.missing_capability = missing_capability


def is_literal(pattern: str) -> bool:
    return not WILDCARDS.intersection(pattern)


def _literal_prefix_length(pattern: str) -> int:
    for index, char in enumerate(pattern):
        if char in WILDCARDS:
            return index
    return len(pattern)


def specificity(rule: RuleEntry, capability: str) -> tuple[int, int, int, int, int]:
    return (
        rule.capability == capability,
        rule.tenant_id is not None,
        is_literal(rule.model_pattern),
        _literal_prefix_length(rule.model_pattern),
        -rule.id,
    )


def model_allowed(tenant: TenantEntry, model: str) -> bool:
    return not tenant.allowed_models or any(
        fnmatchcase(model, allowed) for allowed in tenant.allowed_models
    )


def matching_rules(
    snapshot: ConfigSnapshot, model: str, tenant: TenantEntry, capability: str
) -> list[RuleEntry]:
    rules = [
        rule
        for rule in snapshot.rules
        if rule.tenant_id in (None, tenant.id) and fnmatchcase(model, rule.model_pattern)
    ]
    return sorted(rules, key=lambda rule: specificity(rule, capability), reverse=True)


def weighted_order(targets: tuple[Target, ...], rng: random.Random) -> list[Target]:
    """Efraimidis-Spirakis: sort by u ** (1 / weight), a weighted shuffle in one pass."""
    if len(targets) == 1:
        return list(targets)
    keyed = [(math.log(rng.random() or 1e-12) / t.weight, t) for t in targets]
    return [t for _, t in sorted(keyed, key=lambda pair: pair[0], reverse=True)]


def _planned_tiers(
    rule: RuleEntry, snapshot: ConfigSnapshot, needs: Needs, model: str
) -> tuple[dict[int, PlannedTarget], ...]:
    """Per tier, each capable target's plan, by the identity of the rule's target."""
    tiers = []
    for tier in rule.tiers:
        planned = {}
        for target in tier:
            provider = snapshot.providers.get(target.provider)
            if provider is None or not needs.required <= provider.capabilities:
                continue
            upstream = provider.upstream_model(model, target.model)
            configured = configured_model(provider, model, target.model)
            key = target_breaker_key(provider.name, upstream if configured else None)
            planned[id(target)] = PlannedTarget(provider, upstream, target.tier, target.weight, key)
        tiers.append(planned)
    return tuple(tiers)


def _order(
    rule: RuleEntry,
    tiers: tuple[dict[int, PlannedTarget], ...],
    rng: random.Random,
    latency: LatencyTracker | None,
) -> list[PlannedTarget]:
    """The capable targets, tier by tier, in this request's order (a weighted shuffle of the
    whole tier, or measured speed)."""
    ordered = []
    by_latency = latency is not None and rule.balancing == "latency"
    for tier, planned in zip(rule.tiers, tiers, strict=True):
        capable = [
            planned[id(target)]
            for target in (tier if by_latency else weighted_order(tier, rng))
            if id(target) in planned
        ]
        if by_latency and latency is not None:
            keys = [(t.provider.name, t.model) for t in capable]
            capable = [
                dataclasses.replace(capable[i], why=why)
                for i, why in latency_order(keys, latency, rng)
            ]
        ordered.extend(capable)
    return ordered


def describe(rule: RuleEntry, model: str) -> str:
    scope = f"tenant {rule.tenant_id}" if rule.tenant_id is not None else "global"
    match = "exact" if is_literal(rule.model_pattern) else f"pattern '{rule.model_pattern}'"
    return f"rule '{rule.name}' ({scope}, {match} match for '{model}', {rule.capability})"


def missing_capability(rules: list[RuleEntry], snapshot: ConfigSnapshot, needs: Needs) -> str:
    offered: set[str] = set()
    for rule in rules:
        for tier in rule.tiers:
            for target in tier:
                provider = snapshot.providers.get(target.provider)
                if provider is not None:
                    offered |= provider.capabilities
    for capability in ("embeddings", "vision", "audio", "files", "tools", "json", "text"):
        if capability in needs.required and capability not in offered:
            return capability
    return needs.primary


def plan_route(
    snapshot: ConfigSnapshot,
    model: str,
    tenant: TenantEntry,
    needs: Needs,
    rng: random.Random,
    latency: LatencyTracker | None = None,
) -> RoutePlan:
    """`latency` (the gateway's measurements) orders the tiers of `balancing: latency` rules;
    without it every tier is a weighted shuffle."""
    key = (tenant.id, tenant.allowed_models, model, needs.primary, needs.required)
    route = _routes.get(snapshot, key)
    if route is None:
        route = _route(snapshot, model, tenant, needs)
        _routes.put(snapshot, key, route)
    if route.fixed is not None:
        return route.fixed
    targets = _order(route.rule, route.tiers, rng, latency)
    return RoutePlan(route.rule, tuple(targets), route.reason)


@dataclass(frozen=True, slots=True)
class _Route:
    """What planning derives from the configuration alone: the rule that serves a request and
    its capable targets per tier; `fixed`, the plan itself when no tier has an order to choose."""

    rule: RuleEntry
    tiers: tuple[dict[int, PlannedTarget], ...]
    reason: str
    fixed: RoutePlan | None


def _route(snapshot: ConfigSnapshot, model: str, tenant: TenantEntry, needs: Needs) -> _Route:
    if not model_allowed(tenant, model):
        raise NoRoute("model_not_found")
    rules = matching_rules(snapshot, model, tenant, needs.primary)
    if not rules:
        raise NoRoute("model_not_found")
    for rule in rules:
        tiers = _planned_tiers(rule, snapshot, needs, model)
        if any(tiers):
            reason = describe(rule, model)
            fixed = None
            if rule.balancing != "latency" and all(len(tier) <= 1 for tier in rule.tiers):
                targets = tuple(target for tier in tiers for target in tier.values())
                fixed = RoutePlan(rule, targets, reason)
            return _Route(rule, tiers, reason, fixed)
    raise NoRoute("capability_not_supported", missing_capability(rules, snapshot, needs))


class _RouteCache:
    """The routes of the current configuration snapshot, by tenant, model and needs. The model
    name is the client's, so the cache is bounded; a new snapshot starts it afresh."""

    MAX_ENTRIES = 4096

    def __init__(self) -> None:
        self._snapshot: ConfigSnapshot | None = None
        self._routes: dict[tuple[object, ...], _Route] = {}

    def get(self, snapshot: ConfigSnapshot, key: tuple[object, ...]) -> _Route | None:
        if snapshot is not self._snapshot:
            self._snapshot, self._routes = snapshot, {}
        return self._routes.get(key)

    def put(self, snapshot: ConfigSnapshot, key: tuple[object, ...], route: _Route) -> None:
        if snapshot is self._snapshot and len(self._routes) < self.MAX_ENTRIES:
            self._routes[key] = route


_routes = _RouteCache()


def visible_models(snapshot: ConfigSnapshot, tenant: TenantEntry) -> list[str]:
    names = {
        rule.model_pattern
        for rule in snapshot.rules
        if rule.tenant_id in (None, tenant.id) and is_literal(rule.model_pattern)
    }
    return sorted(name for name in names if model_allowed(tenant, name))
