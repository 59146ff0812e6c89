"""The database as a configuration file: applying the export changes nothing. Secrets never
appear: a provider keeps naming its variable (`secret_env`), keys appear by name without digest
(apply leaves a listed key's digest as it is)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec
import yaml

from routerx.config_file.schema import (
    ConfigFile,
    KeySpec,
    ProviderSpec,
    RuleSpec,
    TenantSpec,
    plain,
)
from routerx.config_file.state import (
    read_current,
    stored_provider_fields,
    stored_rule_fields,
    stored_tenant_fields,
)

T = TypeVar("T")
HEADER = (
    "# RouterX configuration (routerx config export). JSON Schema: routerx config schema\n"
    "# yaml-language-server: $schema=routerx.schema.json\n"
)


@dataclass
class Export:
    document: ConfigFile
    notes: list[str] = field(default_factory=list)  # what the file leaves out, and why


def _spec(
    kind: str, name: str, fields: dict[str, Any], spec: type[T], notes: list[str]
) -> T | None:
    """The stored row as the file's type; rows the API would not accept (written by hand or by
    an older version) are left out, with a note."""
    try:
        return msgspec.convert(fields, spec)
    except msgspec.ValidationError as exc:
        notes.append(f"{kind} {name} is left out: the file cannot express it ({exc})")
        return None


async def export_document() -> Export:
    current = await read_current()
    notes: list[str] = []
    providers = []
    for provider in current.providers.values():
        fields = stored_provider_fields(provider)
        spec = _spec("provider", provider.name, fields, ProviderSpec, notes)
        if spec is not None:
            providers.append(spec)
        if provider.secret_ciphertext:
            notes.append(
                f"provider {provider.name}: its secret is stored encrypted in the database and "
                "stays there (the file never holds secrets; apply leaves it as it is)"
            )
    rules = [
        rule_spec
        for rule in current.rules.values()
        if (
            rule_spec := _spec(
                "rule", rule.name, stored_rule_fields(rule, current.tenant_names), RuleSpec, notes
            )
        )
    ]
    keys_by_tenant: dict[str, list[KeySpec]] = {}
    for (tenant_name, key_name), key in current.keys.items():
        keys_by_tenant.setdefault(tenant_name, []).append(
            KeySpec(
                name=key_name,
                status="revoked" if key.status == "revoked" else "active",
                rpm_limit=key.rpm_limit,
                tpm_limit=key.tpm_limit,
            )
        )
    for key in current.unnamed_keys:
        tenant_name = current.tenant_names[key.tenant_id]
        notes.append(
            f"tenant {tenant_name}: key #{key.id} ({key.prefix}...) is left out: "
            + ("it has no name" if not key.name else f"a second key is named {key.name!r}")
        )
    tenants = [
        tenant_spec
        for tenant in current.tenants.values()
        if (
            tenant_spec := _spec(
                "tenant", tenant.name, stored_tenant_fields(tenant), TenantSpec, notes
            )
        )
    ]
    for tenant in tenants:
        tenant.keys = keys_by_tenant.get(tenant.name, [])
    return Export(ConfigFile(providers=providers, rules=rules, tenants=tenants), notes)


def render_yaml(document: ConfigFile) -> str:
    shown: dict[str, Any] = plain(document)
    shown = {"version": document.version, **shown}
    body = yaml.safe_dump(shown, sort_keys=False, allow_unicode=True, width=100)
    return HEADER + str(body)
