"""The database's configuration and the file's, side by side in one comparable form: per
resource, the fields the file can state, as plain values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from routerx.admin import keys as key_views
from routerx.admin import providers as provider_views
from routerx.admin import rules as rule_views
from routerx.admin import tenants as tenant_views
from routerx.config_file.schema import KeySpec, ProviderSpec, RuleSpec, TenantSpec
from routerx.storage.models import ApiKey, Provider, RoutingRule, Tenant

KeyIdent = tuple[str, str]  # (tenant name, key name)
Fields = dict[str, Any]


@dataclass
class Current:
    """What the database holds now, by name."""

    providers: dict[str, Provider] = field(default_factory=dict)
    rules: dict[str, RoutingRule] = field(default_factory=dict)
    tenants: dict[str, Tenant] = field(default_factory=dict)
    tenant_names: dict[int, str] = field(default_factory=dict)
    keys: dict[KeyIdent, ApiKey] = field(default_factory=dict)
    # Keys a file cannot name: without a name, or a second key of the same name in a tenant.
    unnamed_keys: list[ApiKey] = field(default_factory=list)


async def read_current() -> Current:
    current = Current()
    for tenant in await Tenant.all().order_by("id"):
        current.tenants[tenant.name] = tenant
        current.tenant_names[tenant.id] = tenant.name
    for provider in await Provider.all().order_by("id"):
        current.providers[provider.name] = provider
    for rule in await RoutingRule.all().order_by("id"):
        current.rules[rule.name] = rule
    for key in await ApiKey.all().order_by("id"):
        ident = (current.tenant_names[key.tenant_id], key.name)
        if key.name and ident not in current.keys:
            current.keys[ident] = key
        else:
            current.unnamed_keys.append(key)
    return current


def provider_fields(spec: ProviderSpec) -> Fields:
    fields: Fields = msgspec.to_builtins(spec)
    return fields


def stored_provider_fields(provider: Provider) -> Fields:
    shown = msgspec.to_builtins(provider_views.view(provider))
    return {name: shown[name] for name in ProviderSpec.__struct_fields__}


def rule_fields(spec: RuleSpec) -> Fields:
    fields: Fields = msgspec.to_builtins(spec)
    return fields


def stored_rule_fields(rule: RoutingRule, tenant_names: dict[int, str]) -> Fields:
    shown = msgspec.to_builtins(rule_views.view(rule))
    shown["tenant"] = tenant_names.get(rule.tenant_id) if rule.tenant_id is not None else None
    return {name: shown[name] for name in RuleSpec.__struct_fields__}


def tenant_fields(spec: TenantSpec) -> Fields:
    fields: Fields = msgspec.to_builtins(spec)
    fields.pop("keys")
    return fields


def stored_tenant_fields(tenant: Tenant) -> Fields:
    shown = msgspec.to_builtins(tenant_views.view(tenant))
    return {name: shown[name] for name in TenantSpec.__struct_fields__ if name != "keys"}


def key_fields(spec: KeySpec) -> Fields:
    fields: Fields = msgspec.to_builtins(spec)
    if spec.digest is None:  # a generated key: whatever digest it got stays
        fields.pop("digest")
    return fields


def stored_key_fields(key: ApiKey, compare_digest: bool) -> Fields:
    shown = msgspec.to_builtins(key_views.view(key))
    fields = {name: shown[name] for name in ("name", "status", "rpm_limit", "tpm_limit")}
    if compare_digest:
        fields["digest"] = key.digest
    return fields
