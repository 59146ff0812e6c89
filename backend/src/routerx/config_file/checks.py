"""What the types alone cannot check: unique names, a provider's fields taken together (the admin
API's own check), and references: a rule's targets exist and have the capability it routes, its
tenant exists. References resolve within the file, which describes a whole configuration."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from routerx.admin.errors import ApiError
from routerx.admin.providers import check_provider_fields

if TYPE_CHECKING:
    from routerx.config_file.loader import LoadedFile, Problem


def _duplicates(loaded: LoadedFile, where: str, names: Iterable[str], what: str) -> list[Problem]:
    seen: set[str] = set()
    problems = []
    for index, name in enumerate(names):
        if name in seen:
            problems.append(loaded.problem(f"{where}[{index}].name", f"a second {what} {name!r}"))
        seen.add(name)
    return problems


def _provider_problems(loaded: LoadedFile) -> list[Problem]:
    problems = []
    for index, provider in enumerate(loaded.document.providers):
        try:
            check_provider_fields(
                provider.type,
                provider.base_url,
                provider.capabilities,
                provider.settings,
                None,
                provider.secret_env,
            )
        except ApiError as exc:
            where = f"providers[{index}]" + (f".{exc.param}" if exc.param else "")
            problems.append(loaded.problem(where, exc.message))
    return problems


def _rule_problems(loaded: LoadedFile) -> list[Problem]:
    document = loaded.document
    providers = {provider.name: provider for provider in document.providers}
    tenants = {tenant.name for tenant in document.tenants}
    problems = []
    for index, rule in enumerate(document.rules):
        path = f"rules[{index}]"
        if rule.tenant is not None and rule.tenant not in tenants:
            problems.append(
                loaded.problem(f"{path}.tenant", f"no tenant {rule.tenant!r} in this file")
            )
        seen: set[tuple[str, str | None]] = set()
        for position, target in enumerate(rule.targets):
            where = f"{path}.targets[{position}]"
            provider = providers.get(target.provider)
            if provider is None:
                problems.append(
                    loaded.problem(
                        f"{where}.provider", f"no provider {target.provider!r} in this file"
                    )
                )
            elif rule.capability not in provider.capabilities:
                problems.append(
                    loaded.problem(
                        f"{where}.provider",
                        f"provider {target.provider!r} lacks the {rule.capability} capability "
                        "this rule routes",
                    )
                )
            if (target.provider, target.model) in seen:
                problems.append(loaded.problem(where, "the same provider and model appear twice"))
            seen.add((target.provider, target.model))
    return problems


def _key_problems(loaded: LoadedFile) -> list[Problem]:
    problems = []
    digests: set[str] = set()
    for index, tenant in enumerate(loaded.document.tenants):
        where = f"tenants[{index}].keys"
        problems += _duplicates(loaded, where, (key.name for key in tenant.keys), "key named")
        for position, key in enumerate(tenant.keys):
            if key.digest is None:
                continue
            if key.digest in digests:
                problems.append(
                    loaded.problem(f"{where}[{position}].digest", "two keys have this digest")
                )
            digests.add(key.digest)
    return problems


def cross_reference_problems(loaded: LoadedFile) -> list[Problem]:
    document = loaded.document
    return [
        *_duplicates(loaded, "providers", (p.name for p in document.providers), "provider named"),
        *_duplicates(loaded, "rules", (r.name for r in document.rules), "rule named"),
        *_duplicates(loaded, "tenants", (t.name for t in document.tenants), "tenant named"),
        *_provider_problems(loaded),
        *_rule_problems(loaded),
        *_key_problems(loaded),
    ]
