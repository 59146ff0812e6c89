"""The rule tester: which rule and targets would serve a request now, and why. No upstream call."""

from __future__ import annotations

from routerx.core.snapshot import ConfigSnapshot, RuleEntry, TenantEntry
from routerx.routing.breaker_gate import ProviderBreakers
from routerx.routing.capabilities import EMBEDDINGS_NEEDS, Needs
from routerx.routing.context_window import context_window
from routerx.routing.latency import LatencyTracker
from routerx.routing.rules import (
    configured_model,
    describe,
    matching_rules,
    missing_capability,
    model_allowed,
    target_breaker_key,
)
from routerx.wire.internal import (
    ExplainedRule,
    ExplainedTarget,
    RouteExplainRequest,
    RouteExplanation,
)

ANY_TENANT = TenantEntry(id=-1, name="(global rules only)", active=True, allowed_models=frozenset())


def needs_of_sample(sample: RouteExplainRequest) -> Needs:
    if sample.capability == "embeddings":
        return EMBEDDINGS_NEEDS
    required: set[str] = {"text", sample.capability}
    if sample.tools:
        required.add("tools")
    if sample.json:
        required.add("json")
    return Needs(sample.capability, frozenset(required))


def _latency_note(
    rule: RuleEntry, latency: LatencyTracker | None, provider: str, model: str
) -> str:
    if latency is None or rule.balancing != "latency":
        return ""
    average = latency.average_ms(provider, model)
    if average is None:
        return "; latency: not measured recently (tried first)"
    return f"; latency: avg {average:.0f} ms"


def _explain_targets(
    rule: RuleEntry,
    snapshot: ConfigSnapshot,
    needs: Needs,
    model: str,
    breakers: ProviderBreakers,
    latency: LatencyTracker | None = None,
) -> list[ExplainedTarget]:
    explained = []
    for tier in rule.tiers:
        for target in sorted(tier, key=lambda t: -t.weight):
            provider = snapshot.providers.get(target.provider)
            if provider is None:
                explained.append(
                    ExplainedTarget(
                        target.provider,
                        target.model or model,
                        target.tier,
                        target.weight,
                        capable=False,
                        breaker_state="unknown",
                        eligible=False,
                        why="provider missing or disabled",
                    )
                )
                continue
            upstream = provider.upstream_model(model, target.model)
            configured = configured_model(provider, model, target.model)
            view = breakers.view(
                target_breaker_key(provider.name, upstream if configured else None)
            )
            state = view.state.value if view is not None else "closed"
            lacking = sorted(needs.required - provider.capabilities)
            capable = not lacking
            eligible = capable and state != "open"
            if not capable:
                why = "lacks " + ", ".join(lacking)
            elif state == "open":
                why = "breaker open: skipped until it half-opens"
            elif state == "half_open":
                why = "breaker half-open: admitted as a probe"
            else:
                why = "primary" if target.tier == 0 else f"fallback tier {target.tier}"
            upstream = provider.upstream_model(model, target.model)
            why += _latency_note(rule, latency, provider.name, upstream)
            window = context_window(provider, upstream)
            if window is not None:
                why += f"; context window {window} tokens"
            explained.append(
                ExplainedTarget(
                    provider.name,
                    upstream,
                    target.tier,
                    target.weight,
                    capable,
                    state,
                    eligible,
                    why,
                )
            )
    return explained


def explain_route(
    snapshot: ConfigSnapshot,
    sample: RouteExplainRequest,
    breakers: ProviderBreakers,
    latency: LatencyTracker | None = None,
) -> RouteExplanation:
    tenant = ANY_TENANT
    if sample.tenant_id is not None:
        found = snapshot.tenants.get(sample.tenant_id)
        if found is None:
            return RouteExplanation(None, "", [], f"tenant {sample.tenant_id} does not exist")
        tenant = found
    if not model_allowed(tenant, sample.model):
        return RouteExplanation(
            None, "", [], f"tenant '{tenant.name}' may not use model '{sample.model}'"
        )
    needs = needs_of_sample(sample)
    rules = matching_rules(snapshot, sample.model, tenant, needs.primary)
    if not rules:
        return RouteExplanation(None, "", [], f"no rule routes model '{sample.model}'")
    for rule in rules:
        targets = _explain_targets(rule, snapshot, needs, sample.model, breakers, latency)
        if any(t.capable for t in targets):
            error = (
                None
                if any(t.eligible for t in targets)
                else ("every capable target has an open breaker: the gateway would answer 503")
            )
            return RouteExplanation(
                ExplainedRule(
                    rule.id, rule.name, rule.model_pattern, rule.capability, rule.tenant_id
                ),
                describe(rule, sample.model) + " is the most specific rule with a capable target",
                targets,
                error,
            )
    missing = missing_capability(rules, snapshot, needs)
    return RouteExplanation(
        None, "", [], f"no provider routed for '{sample.model}' supports '{missing}'"
    )
