"""The database as a configuration file: applying the export changes nothing. Secrets never
appear: a provider keeps naming its variable (`secret_env`), keys appear by name without digest
(apply leaves a listed key's digest as it is)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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

HEADER = (
    "# RouterX configuration (routerx config export). JSON Schema: routerx config schema\n"
    "# yaml-language-server: $schema=routerx.schema.json\n"
)


@dataclass
class Export:
    document: ConfigFile
    notes: list[str] = field(default_factory=list)  # what the file leaves out, and why


async def export_document() -> Export:
    current = await read_current()
    notes: list[str] = []
    providers = []
    for provider in current.providers.values():
        providers.append(msgspec.convert(stored_provider_fields(provider), ProviderSpec))
        if provider.secret_ciphertext:
            notes.append(
                f"provider {provider.name}: its secret is stored encrypted in the database and "
                "stays there (the file never holds secrets; apply leaves it as it is)"
            )
    rules = [
        msgspec.convert(stored_rule_fields(rule, current.tenant_names), RuleSpec)
        for rule in current.rules.values()
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
        msgspec.convert({**stored_tenant_fields(tenant), "keys": []}, TenantSpec)
        for tenant in current.tenants.values()
    ]
    for tenant in tenants:
        tenant.keys = keys_by_tenant.get(tenant.name, [])
    return Export(ConfigFile(providers=providers, rules=rules, tenants=tenants), notes)


def render_yaml(document: ConfigFile) -> str:
    shown: dict[str, Any] = plain(document)
    shown = {"version": document.version, **shown}
    body = yaml.safe_dump(shown, sort_keys=False, allow_unicode=True, width=100)
    return HEADER + str(body)
