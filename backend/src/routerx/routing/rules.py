"""Pick the routing rule and the ordered targets for a request. Pure: no I/O.

The most specific rule wins: tenant-scoped over global, exact name over pattern, longer literal
prefix over shorter, the rule's own capability over a rule for another capability (whose targets
must then still be capable). Within a tier, targets are ordered by a weighted random shuffle.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from fnmatch import fnmatchcase

from routerx.core.snapshot import ConfigSnapshot, RuleEntry, Target, TenantEntry
from routerx.providers.base import ProviderConfig
from routerx.routing.capabilities import Needs

WILDCARDS = frozenset("*?[")


@dataclass(frozen=True, slots=True)
class PlannedTarget:
    provider: ProviderConfig
    model: str
    tier: int
    weight: int


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


def _capable_targets(
    rule: RuleEntry, snapshot: ConfigSnapshot, needs: Needs, model: str, rng: random.Random
) -> list[PlannedTarget]:
    planned = []
    for tier in rule.tiers:
        for target in weighted_order(tier, rng):
            provider = snapshot.providers.get(target.provider)
            if provider is None or not needs.required <= provider.capabilities:
                continue
            upstream = provider.upstream_model(model, target.model)
            planned.append(PlannedTarget(provider, upstream, target.tier, target.weight))
    return planned


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
) -> RoutePlan:
    if not model_allowed(tenant, model):
        raise NoRoute("model_not_found")
    rules = matching_rules(snapshot, model, tenant, needs.primary)
    if not rules:
        raise NoRoute("model_not_found")
    for rule in rules:
        targets = _capable_targets(rule, snapshot, needs, model, rng)
        if targets:
            return RoutePlan(rule, tuple(targets), describe(rule, model))
    raise NoRoute("capability_not_supported", missing_capability(rules, snapshot, needs))


def visible_models(snapshot: ConfigSnapshot, tenant: TenantEntry) -> list[str]:
    names = {
        rule.model_pattern
        for rule in snapshot.rules
        if rule.tenant_id in (None, tenant.id) and is_literal(rule.model_pattern)
    }
    return sorted(name for name in names if model_allowed(tenant, name))
