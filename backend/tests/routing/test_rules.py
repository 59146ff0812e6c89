"""Rule selection: most specific rule wins; only capable targets; weighted tiers."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from routerx.core.snapshot import ConfigSnapshot, RuleEntry, Target, TenantEntry, group_tiers
from routerx.providers.base import ProviderConfig
from routerx.routing.capabilities import EMBEDDINGS_NEEDS, Needs
from routerx.routing.rules import NoRoute, _RouteCache, _routes, plan_route, visible_models

TEXT = Needs("text", frozenset({"text"}))
VISION = Needs("vision", frozenset({"text", "vision"}))
TOOLS = Needs("text", frozenset({"text", "tools"}))
TENANT = TenantEntry(id=1, name="t", active=True, allowed_models=frozenset())


def provider(name: str, *caps: str) -> ProviderConfig:
    return ProviderConfig(
        id=hash(name) % 1000, name=name, type="mock", capabilities=frozenset(("text", *caps))
    )


def rule(
    rule_id: int, pattern: str, capability: str, *targets: Target, tenant_id: int | None = None
) -> RuleEntry:
    return RuleEntry(
        rule_id, f"r{rule_id}", pattern, capability, tenant_id, group_tiers(list(targets))
    )


def t(name: str, tier: int = 0, weight: int = 1, model: str | None = None) -> Target:
    return Target(name, model, weight, tier)


PROVIDERS = {
    p.name: p
    for p in [
        provider("text-a"),
        provider("text-b"),
        provider("eye", "vision"),
        provider("tool", "tools"),
    ]
}


def snapshot(*rules: RuleEntry) -> ConfigSnapshot:
    return ConfigSnapshot(version=1, providers=PROVIDERS, rules=rules)


def plan(
    snap: ConfigSnapshot, model: str = "gpt-x", needs: Needs = TEXT, tenant: TenantEntry = TENANT
) -> list[str]:
    route = plan_route(snap, model, tenant, needs, random.Random(1))
    return [target.provider.name for target in route.targets]


def test_tiers_give_primary_then_secondary() -> None:
    snap = snapshot(rule(1, "gpt-x", "text", t("text-b", tier=1), t("text-a", tier=0)))
    assert plan(snap) == ["text-a", "text-b"]


def test_exact_beats_pattern_and_tenant_beats_global() -> None:
    snap = snapshot(
        rule(1, "gpt-*", "text", t("text-a")),
        rule(2, "gpt-x", "text", t("text-b")),
        rule(3, "gpt-*", "text", t("tool"), tenant_id=1),
    )
    assert plan(snap) == ["tool"]
    other_tenant = TenantEntry(id=2, name="o", active=True, allowed_models=frozenset())
    assert plan(snap, tenant=other_tenant) == ["text-b"]
    assert plan(snap, model="gpt-y", tenant=other_tenant) == ["text-a"]


def test_vision_request_never_reaches_a_text_only_provider() -> None:
    snap = snapshot(rule(1, "gpt-x", "vision", t("text-a"), t("eye", tier=1)))
    assert plan(snap, needs=VISION) == ["eye"]
    only_text = snapshot(rule(1, "gpt-x", "text", t("text-a")))
    with pytest.raises(NoRoute) as no_route:
        plan(only_text, needs=VISION)
    assert (no_route.value.code, no_route.value.missing_capability) == (
        "capability_not_supported",
        "vision",
    )


def test_vision_falls_back_to_a_text_rule_with_capable_targets() -> None:
    snap = snapshot(rule(1, "gpt-x", "text", t("text-a"), t("eye", tier=1)))
    assert plan(snap, needs=VISION) == ["eye"]


def test_tools_need_a_tools_provider() -> None:
    snap = snapshot(rule(1, "gpt-x", "text", t("text-a"), t("tool", tier=1)))
    assert plan(snap, needs=TOOLS) == ["tool"]


def test_unknown_model_and_disallowed_model() -> None:
    snap = snapshot(rule(1, "gpt-x", "text", t("text-a")))
    with pytest.raises(NoRoute, match="model_not_found"):
        plan(snap, model="other")
    limited = TenantEntry(id=1, name="t", active=True, allowed_models=frozenset({"gpt-y"}))
    with pytest.raises(NoRoute, match="model_not_found"):
        plan(snap, tenant=limited)


def test_weights_spread_load_within_a_tier() -> None:
    snap = snapshot(rule(1, "gpt-x", "text", t("text-a", weight=3), t("text-b", weight=1)))
    rng = random.Random(42)
    firsts = Counter(
        plan_route(snap, "gpt-x", TENANT, TEXT, rng).targets[0].provider.name for _ in range(4000)
    )
    assert 0.70 < firsts["text-a"] / 4000 < 0.80


def test_upstream_model_from_target_then_model_map() -> None:
    mapped = ProviderConfig(id=9, name="mapped", type="mock", model_map={"gpt-x": "real-x"})
    snap = ConfigSnapshot(
        1,
        providers={"mapped": mapped, **PROVIDERS},
        rules=(rule(1, "gpt-x", "text", t("mapped"), t("text-a", tier=1, model="override")),),
    )
    route = plan_route(snap, "gpt-x", TENANT, TEXT, random.Random(1))
    assert [target.model for target in route.targets] == ["real-x", "override"]
    assert "rule 'r1'" in route.reason


def test_visible_models_are_literal_rules_the_tenant_may_use() -> None:
    snap = snapshot(
        rule(1, "gpt-x", "text", t("text-a")),
        rule(2, "gpt-*", "text", t("text-a")),
        rule(3, "private", "text", t("text-a"), tenant_id=99),
    )
    assert visible_models(snap, TENANT) == ["gpt-x"]


def test_embeddings_go_only_to_providers_that_declare_them() -> None:
    embedder = ProviderConfig(
        id=900, name="embedder", type="mock", capabilities=frozenset({"embeddings"})
    )
    snap = ConfigSnapshot(
        version=1,
        providers={**PROVIDERS, "embedder": embedder},
        rules=(
            rule(1, "text-embedding-*", "text", t("text-a")),
            rule(2, "text-embedding-3-small", "embeddings", t("text-b"), t("embedder", tier=1)),
        ),
    )

    assert plan(snap, "text-embedding-3-small", EMBEDDINGS_NEEDS) == ["embedder"]
    with pytest.raises(NoRoute) as caught:
        plan(snap, "text-embedding-3-large", EMBEDDINGS_NEEDS)
    assert caught.value.code == "capability_not_supported"
    assert caught.value.missing_capability == "embeddings"
    with pytest.raises(NoRoute):  # a chat request never reaches an embeddings-only provider
        plan(snapshot(rule(3, "e", "embeddings", t("embedder"))), "e", TEXT)


def test_a_new_snapshot_is_planned_afresh() -> None:
    """Routes are kept per configuration snapshot: the next one's rules apply at once."""
    first = snapshot(rule(1, "gpt-x", "text", t("text-a"), t("text-b", tier=1)))
    assert plan(first) == ["text-a", "text-b"]
    assert plan(first) == ["text-a", "text-b"]
    second = snapshot(rule(1, "gpt-x", "text", t("text-b"), t("text-a", tier=1)))
    assert plan(second) == ["text-b", "text-a"]
    assert plan(first) == ["text-a", "text-b"]


def test_routes_kept_for_client_model_names_stay_bounded() -> None:
    snap = snapshot(rule(1, "gpt-*", "text", t("text-a")))
    for n in range(_RouteCache.MAX_ENTRIES + 10):
        assert plan(snap, model=f"gpt-{n}") == ["text-a"]
    assert len(_routes._routes) == _RouteCache.MAX_ENTRIES


def test_a_route_keeps_the_request_model_and_needs_apart() -> None:
    snap = snapshot(rule(1, "gpt-*", "text", t("text-a"), t("eye", tier=1)))
    assert plan(snap, model="gpt-a") == ["text-a", "eye"]
    assert plan(snap, model="gpt-a", needs=VISION) == ["eye"]
    limited = TenantEntry(id=1, name="t", active=True, allowed_models=frozenset({"gpt-b"}))
    with pytest.raises(NoRoute, match="model_not_found"):
        plan(snap, model="gpt-a", tenant=limited)
