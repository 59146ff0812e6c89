"""What `apply` would do: every create, update and delete, computed against the database.

Without `--prune`, apply deletes only what an earlier apply of the same file created and the file
no longer lists; with it, everything the file does not list. Deleting a tenant deletes its keys
and its tenant-scoped rules with it, and the plan says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from routerx.config_file.loader import ConfigFileError, LoadedFile, Problem
from routerx.config_file.state import (
    Current,
    Fields,
    key_fields,
    provider_fields,
    rule_fields,
    stored_key_fields,
    stored_provider_fields,
    stored_rule_fields,
    stored_tenant_fields,
    tenant_fields,
)

Action = Literal["create", "update", "delete"]
SYMBOLS = {"create": "+", "update": "~", "delete": "-"}
Kind = Literal["provider", "rule", "tenant", "api_key"]


@dataclass(frozen=True, slots=True)
class Change:
    kind: Kind
    name: str  # an API key's is "tenant/key"
    action: Action
    fields: tuple[str, ...] = ()
    row_id: int | None = None  # the row a delete removes

    def render(self) -> str:
        changed = f" ({', '.join(self.fields)})" if self.fields else ""
        return f"{SYMBOLS[self.action]} {self.kind} {self.name}{changed}"


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    # Resources the file lists that the database has with the same content but not yet marked
    # as managed by this file: apply marks them, which is no change to the configuration.
    adopted: list[str] = field(default_factory=list)

    def of(self, kind: Kind, action: Action) -> list[Change]:
        return [c for c in self.changes if c.kind == kind and c.action == action]

    @property
    def empty(self) -> bool:
        return not self.changes


def _changed(desired: Fields, stored: Fields) -> tuple[str, ...]:
    return tuple(name for name, value in desired.items() if stored.get(name) != value)


class _Planner:
    def __init__(self, loaded: LoadedFile, current: Current, prune: bool) -> None:
        self.loaded = loaded
        self.current = current
        self.prune = prune
        self.label = loaded.label
        self.plan = Plan()

    def compare(
        self, kind: Kind, name: str, desired: Fields, stored: tuple[Fields, str | None] | None
    ) -> None:
        if stored is None:
            self.plan.changes.append(Change(kind, name, "create"))
            return
        fields, managed_by = stored
        changed = _changed(desired, fields)
        if changed:
            self.plan.changes.append(Change(kind, name, "update", changed))
        elif managed_by != self.label:
            self.plan.adopted.append(f"{kind} {name}")

    def removable(self, managed_by: str | None) -> bool:
        return self.prune or managed_by == self.label

    def listed(self) -> None:
        document, current = self.loaded.document, self.current
        for tenant in document.tenants:
            row = current.tenants.get(tenant.name)
            stored = (stored_tenant_fields(row), row.managed_by) if row else None
            self.compare("tenant", tenant.name, tenant_fields(tenant), stored)
        for provider in document.providers:
            row_p = current.providers.get(provider.name)
            stored = (stored_provider_fields(row_p), row_p.managed_by) if row_p else None
            self.compare("provider", provider.name, provider_fields(provider), stored)
        for rule in document.rules:
            row_r = current.rules.get(rule.name)
            stored = (
                (stored_rule_fields(row_r, current.tenant_names), row_r.managed_by)
                if row_r
                else None
            )
            self.compare("rule", rule.name, rule_fields(rule), stored)

    def listed_keys(self) -> set[tuple[str, str]]:
        problems: list[Problem] = []
        listed: set[tuple[str, str]] = set()
        for t_index, tenant in enumerate(self.loaded.document.tenants):
            for k_index, key in enumerate(tenant.keys):
                ident = (tenant.name, key.name)
                listed.add(ident)
                row = self.current.keys.get(ident)
                if row is not None and row.status == "revoked" and key.status == "active":
                    problems.append(
                        self.loaded.problem(
                            f"tenants[{t_index}].keys[{k_index}].status",
                            "this key is revoked, which is final: give a new key another name",
                        )
                    )
                desired = key_fields(key)
                stored = (
                    (stored_key_fields(row, "digest" in desired), row.managed_by) if row else None
                )
                self.compare("api_key", f"{tenant.name}/{key.name}", desired, stored)
        if problems:
            raise ConfigFileError(self.loaded.source, problems)
        return listed

    def deletions(self, listed_keys: set[tuple[str, str]]) -> None:
        document, current, changes = self.loaded.document, self.current, self.plan.changes
        listed_tenants = {t.name for t in document.tenants}
        gone_tenants = {
            name
            for name, row in current.tenants.items()
            if name not in listed_tenants and self.removable(row.managed_by)
        }
        listed_rules = {r.name for r in document.rules}
        for name, rule in current.rules.items():
            tenant_name = current.tenant_names.get(rule.tenant_id or 0)
            if name not in listed_rules and (
                self.removable(rule.managed_by) or tenant_name in gone_tenants
            ):
                changes.append(Change("rule", name, "delete", row_id=rule.id))
        for (tenant_name, key_name), key in current.keys.items():
            if (tenant_name, key_name) not in listed_keys and (
                tenant_name in gone_tenants or self.removable(key.managed_by)
            ):
                changes.append(
                    Change("api_key", f"{tenant_name}/{key_name}", "delete", row_id=key.id)
                )
        for key in current.unnamed_keys:
            tenant_name = current.tenant_names[key.tenant_id]
            if tenant_name in gone_tenants or self.removable(key.managed_by):
                shown = f"{tenant_name}/{key.name or '(unnamed)'} #{key.id}"
                changes.append(Change("api_key", shown, "delete", row_id=key.id))
        listed_providers = {p.name for p in document.providers}
        for name, provider in current.providers.items():
            if name not in listed_providers and self.removable(provider.managed_by):
                changes.append(Change("provider", name, "delete", row_id=provider.id))
        changes += [
            Change("tenant", name, "delete", row_id=current.tenants[name].id)
            for name in sorted(gone_tenants)
        ]


def make_plan(loaded: LoadedFile, current: Current, prune: bool) -> Plan:
    planner = _Planner(loaded, current, prune)
    planner.listed()
    planner.deletions(planner.listed_keys())
    return planner.plan
