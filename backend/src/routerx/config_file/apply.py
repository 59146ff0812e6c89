"""Applying a file: the plan carried out in one database transaction, with one audit entry
naming the file and its digest and one configuration-version bump, so every gateway reloads
once. Anything that fails rolls the whole apply back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import msgspec
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from routerx.admin import audit
from routerx.auth.api_keys import digest_key, display_prefix, generate_key
from routerx.config_file.loader import ConfigFileError, LoadedFile, Problem
from routerx.config_file.plan import Kind, Plan, make_plan
from routerx.config_file.schema import KeySpec
from routerx.config_file.state import Current, read_current
from routerx.storage.config_version import bump_config_version
from routerx.storage.models import ApiKey, Provider, RoutingRule, Tenant

DIGEST_PREFIX = "sha256:"
APPLY_LOCK = 0x726F75746572  # any constant the deployment's other advisory locks do not use


@dataclass(frozen=True, slots=True)
class GeneratedKey:
    """A key apply made up: its value exists only here, to be shown once."""

    tenant: str
    name: str
    key: str


@dataclass
class ApplyResult:
    plan: Plan
    generated: list[GeneratedKey] = field(default_factory=list)
    config_version: int | None = None  # None: nothing to apply


class _Applier:
    def __init__(self, loaded: LoadedFile, current: Current, generate_keys: bool) -> None:
        self.loaded = loaded
        self.current = current
        self.generate_keys = generate_keys
        self.generated: list[GeneratedKey] = []

    async def tenants(self) -> None:
        for spec in self.loaded.document.tenants:
            values = msgspec.to_builtins(spec)
            values.pop("keys")
            row = self.current.tenants.get(spec.name)
            if row is None:
                row = await Tenant.create(**values, managed_by=self.loaded.label)
                self.current.tenants[spec.name] = row
                self.current.tenant_names[row.id] = spec.name
            else:
                row.update_from_dict({**values, "managed_by": self.loaded.label})
                await row.save()

    async def providers(self) -> None:
        for spec in self.loaded.document.providers:
            values = msgspec.to_builtins(spec)
            row = self.current.providers.get(spec.name)
            if row is None:
                await Provider.create(**values, managed_by=self.loaded.label)
                continue
            if spec.secret_env is not None:
                values["secret_ciphertext"] = None
            # Without secret_env, a secret stored through the API stays: the file never holds one.
            row.update_from_dict({**values, "managed_by": self.loaded.label})
            await row.save()

    async def rules(self) -> None:
        for spec in self.loaded.document.rules:
            values: dict[str, Any] = msgspec.to_builtins(spec)
            tenant = values.pop("tenant")
            values["tenant_id"] = self.current.tenants[tenant].id if tenant is not None else None
            row = self.current.rules.get(spec.name)
            if row is None:
                await RoutingRule.create(**values, managed_by=self.loaded.label)
            else:
                row.update_from_dict({**values, "managed_by": self.loaded.label})
                await row.save()

    async def _digest_for(
        self, where: str, spec: KeySpec, tenant: str, own_id: int | None
    ) -> tuple[str, str | None]:
        """The key's digest, and its value when apply generates it."""
        if spec.digest is None:
            if not self.generate_keys:
                raise ConfigFileError(
                    self.loaded.source,
                    [
                        self.loaded.problem(
                            where,
                            "a new key needs its digest here: the admin service shows no key "
                            "values (`routerx config apply` generates them)",
                        )
                    ],
                )
            plain = generate_key()
            self.generated.append(GeneratedKey(tenant, spec.name, plain))
            return digest_key(plain), plain
        clash = ApiKey.filter(digest=spec.digest)
        if own_id is not None:
            clash = clash.exclude(id=own_id)
        if await clash.exists():
            raise ConfigFileError(
                self.loaded.source,
                [self.loaded.problem(f"{where}.digest", "another API key has this digest")],
            )
        return spec.digest, None

    async def keys(self) -> None:
        for t_index, tenant in enumerate(self.loaded.document.tenants):
            tenant_id = self.current.tenants[tenant.name].id
            for k_index, spec in enumerate(tenant.keys):
                where = f"tenants[{t_index}].keys[{k_index}]"
                row = self.current.keys.get((tenant.name, spec.name))
                limits = {"rpm_limit": spec.rpm_limit, "tpm_limit": spec.tpm_limit}
                revoked_at = dt.datetime.now(dt.UTC) if spec.status == "revoked" else None
                if row is None:
                    digest, plain = await self._digest_for(where, spec, tenant.name, None)
                    await ApiKey.create(
                        tenant_id=tenant_id,
                        name=spec.name,
                        prefix=display_prefix(plain) if plain else _digest_prefix(digest),
                        digest=digest,
                        status=spec.status,
                        revoked_at=revoked_at,
                        managed_by=self.loaded.label,
                        rpm_limit=spec.rpm_limit,
                        tpm_limit=spec.tpm_limit,
                    )
                    continue
                changes: dict[str, Any] = {**limits, "managed_by": self.loaded.label}
                if spec.digest is not None and spec.digest != row.digest:
                    changes["digest"], _ = await self._digest_for(where, spec, tenant.name, row.id)
                    changes["prefix"] = _digest_prefix(spec.digest)
                if spec.status == "revoked" and row.status != "revoked":
                    changes.update(status="revoked", revoked_at=revoked_at)
                row.update_from_dict(changes)
                await row.save()


def _digest_prefix(digest: str) -> str:
    return (DIGEST_PREFIX + digest)[:16]


async def _delete(plan: Plan, *kinds: Kind) -> None:
    models: dict[str, Any] = {
        "rule": RoutingRule,
        "api_key": ApiKey,
        "provider": Provider,
        "tenant": Tenant,
    }
    for kind in kinds:
        ids = [change.row_id for change in plan.of(kind, "delete")]
        if ids:
            await models[kind].filter(id__in=ids).delete()


async def _stranded_rules(loaded: LoadedFile) -> list[Problem]:
    """Rules the file does not list still have to route: their targets must still exist."""
    providers = {p.name: p for p in await Provider.all()}
    problems = []
    for rule in await RoutingRule.all().order_by("id"):
        for target in rule.targets or []:
            provider = providers.get(str(target.get("provider")))
            if provider is None:
                message = f"rule {rule.name!r} targets provider {target.get('provider')!r}, "
                problems.append(Problem("", message + "which this apply deletes"))
            elif rule.capability not in (provider.capabilities or []):
                message = f"rule {rule.name!r} needs the {rule.capability} capability of "
                problems.append(Problem("", message + f"provider {provider.name!r}"))
    return problems


async def apply_file(
    loaded: LoadedFile, *, actor: str, prune: bool = False, generate_keys: bool = True
) -> ApplyResult:
    try:
        async with in_transaction() as connection:
            if connection.capabilities.dialect == "postgres":
                # Admin replicas starting together apply one after the other, not into each
                # other's unique names (SQLite transactions are serial already).
                await connection.execute_query("SELECT pg_advisory_xact_lock($1)", [APPLY_LOCK])
            current = await read_current()
            plan = make_plan(loaded, current, prune)
            if plan.empty and not plan.adopted:
                return ApplyResult(plan)
            applier = _Applier(loaded, current, generate_keys)
            # Rules and keys go first; providers and tenants last, once the file's rules have
            # moved off them (a tenant's deletion would take its rules along).
            await _delete(plan, "rule", "api_key")
            await applier.tenants()
            await applier.providers()
            await applier.rules()
            await applier.keys()
            await _delete(plan, "provider", "tenant")
            stranded = await _stranded_rules(loaded)
            if stranded:
                raise ConfigFileError(loaded.source, stranded)
            await audit.record(
                actor,
                "apply",
                "config_file",
                loaded.digest,
                after={
                    "file": loaded.label,
                    "file_digest": DIGEST_PREFIX + loaded.digest,  # "digest" is masked
                    "prune": prune,
                    "changes": [change.render() for change in plan.changes],
                    "adopted": plan.adopted,
                },
            )
            version = await bump_config_version()
    except IntegrityError:
        problem = Problem("", "the database refused the change (a name or digest is taken)")
        raise ConfigFileError(loaded.source, [problem]) from None
    return ApplyResult(plan, applier.generated, version)
