"""Providers: the upstreams the gateway calls, their capabilities and per-provider knobs.

The secret is write-only: `secret` (stored encrypted) or `secret_env` (the name of an environment
variable the gateway reads); responses say only `secret_set` and the variable's name.
`secret_env` may name only a variable meant for it (SECRET_ENV_PREFIX, or one listed in
PROVIDER_SECRET_ENV_ALLOWLIST): otherwise an admin could point a provider at an upstream of
their own and have the gateway send it JWT_SECRET or DATABASE_URL. For the same reason a change
of `base_url` or `type` drops the stored secret unless the same request sends one again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from routerx.admin import audit
from routerx.admin.endpoint import Call, given_fields
from routerx.admin.errors import conflict, invalid, not_found
from routerx.admin.managed import refuse_if_managed
from routerx.admin.pagination import Page, PageQuery, Timestamp, paginate
from routerx.admin.provider_settings import ProviderSettings, breaker_problem, read_settings
from routerx.auth.secrets import MASK, encrypt_secret
from routerx.providers.base import EMBEDDING_TYPES, UNSUPPORTED_CAPABILITIES
from routerx.storage.config_version import bump_config_version
from routerx.storage.models import Provider, RoutingRule

log = logging.getLogger("routerx.admin")

TYPES_NEEDING_BASE_URL = frozenset({"azure", "openai_compatible"})
REQUIRED_SETTINGS = {"bedrock": ("region",), "vertex": ("project", "location")}
ProviderType = Literal[
    "mock", "openai", "azure", "anthropic", "gemini", "openai_compatible", "bedrock", "vertex"
]
Capability = Literal["text", "vision", "tools", "json", "audio", "files", "embeddings"]
ProviderName = Annotated[
    str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
]
# http(s), a host, a port of at most 65535, then a path without whitespace, query or fragment
# (the gateway's rules for base URLs); "" = the type's default.
BASE_URL_PATTERN = (
    r"^(https?://[A-Za-z0-9._~-]+|https?://\[[0-9A-Fa-f:.]+\])"
    r"(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4}))?"
    r"(/[^\s\x00-\x1f\x7f?#]*)?$|^$"
)
BaseUrl = Annotated[str, msgspec.Meta(max_length=500, pattern=BASE_URL_PATTERN)]
ModelName = Annotated[
    str, msgspec.Meta(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")
]
ModelMap = Annotated[dict[ModelName, ModelName], msgspec.Meta(max_length=500)]
Capabilities = Annotated[
    list[Capability],
    msgspec.Meta(min_length=1, max_length=7, extra_json_schema={"uniqueItems": True}),
]
Secret = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
MAX_SECRET_BYTES = 2048  # its ciphertext must fit the 4096-character column
EnvName = Annotated[str, msgspec.Meta(max_length=100, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
SECRET_ENV_PREFIX = "ROUTERX_PROVIDER_"  # noqa: S105 - a variable-name prefix, not a secret


class ProviderView(msgspec.Struct):
    id: int
    name: str
    type: str
    base_url: str
    model_map: dict[str, str]
    capabilities: list[str]
    enabled: bool
    settings: ProviderSettings
    secret_set: bool
    secret_env: str | None
    created_at: Timestamp
    updated_at: Timestamp
    managed_by: str | None  # the configuration file this provider comes from


class ProviderCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: ProviderName
    type: ProviderType
    base_url: BaseUrl = ""
    model_map: ModelMap = msgspec.field(default_factory=dict)
    capabilities: Capabilities = msgspec.field(default_factory=lambda: ["text"])
    enabled: bool = True
    settings: ProviderSettings = msgspec.field(default_factory=ProviderSettings)
    secret: Secret | None = None
    secret_env: EnvName | None = None


class ProviderUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Fields left out keep their value; `secret: null` removes a stored secret."""

    name: ProviderName | UnsetType = UNSET
    type: ProviderType | UnsetType = UNSET
    base_url: BaseUrl | UnsetType = UNSET
    model_map: ModelMap | UnsetType = UNSET
    capabilities: Capabilities | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET
    settings: ProviderSettings | UnsetType = UNSET
    secret: Secret | UnsetType | None = UNSET
    secret_env: EnvName | UnsetType | None = UNSET


class ProviderQuery(PageQuery, kw_only=True):
    type: ProviderType | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET
    capability: Capability | UnsetType = UNSET


def view(provider: Provider) -> ProviderView:
    return ProviderView(
        provider.id,
        provider.name,
        provider.type,
        provider.base_url,
        dict(provider.model_map or {}),
        list(provider.capabilities or []),
        provider.enabled,
        read_settings(provider.name, provider.settings),
        bool(provider.secret_ciphertext or provider.secret_env),
        provider.secret_env,
        provider.created_at,
        provider.updated_at,
        provider.managed_by,
    )


async def get_provider(provider_id: int) -> Provider:
    provider = await Provider.get_or_none(id=provider_id)
    if provider is None:
        raise not_found("Provider", provider_id)
    return provider


async def list_providers(call: Call) -> Page[ProviderView]:
    query: ProviderQuery = call.query
    queryset = Provider.all()
    if query.type is not UNSET:
        queryset = queryset.filter(type=query.type)
    if query.enabled is not UNSET:
        queryset = queryset.filter(enabled=query.enabled)
    if query.capability is UNSET:
        return await paginate(queryset, query, view)
    # capabilities is a JSON list; both databases filter it alike only in Python.
    matching = [p for p in await queryset.order_by("id") if query.capability in p.capabilities]
    chosen = matching[query.offset : query.offset + query.limit]
    return Page([view(p) for p in chosen], len(matching), query.limit, query.offset)


async def read_provider(call: Call) -> ProviderView:
    return view(await get_provider(call.path["provider_id"]))


def check_secret_env(name: object, allowlist: frozenset[str], field: str = "secret_env") -> None:
    if not isinstance(name, str):
        return
    if not (name.startswith(SECRET_ENV_PREFIX) and len(name) > len(SECRET_ENV_PREFIX)) and (
        name not in allowlist
    ):
        raise invalid(
            f"{field} must name a variable starting with {SECRET_ENV_PREFIX} (or one listed "
            "in PROVIDER_SECRET_ENV_ALLOWLIST).",
            field,
        )


def check_env_names(
    secret_env: object, settings: ProviderSettings | None, allowlist: frozenset[str]
) -> None:
    """Every environment variable a provider names is a provider secret, never the server's own.

    Bedrock's key pair names variables too, and the access key id travels upstream in each
    signed request, so it is held to the same prefix as `secret_env`.
    """
    check_secret_env(secret_env, allowlist)
    names = settings.credentials_env if settings else None
    if names is None:
        return
    for key in ("access_key_id", "secret_access_key", "session_token"):
        check_secret_env(getattr(names, key), allowlist, f"settings.credentials_env.{key}")


def check_provider_fields(
    type_: str,
    base_url: str,
    capabilities: Sequence[str],
    settings: ProviderSettings | None,
    secret: Any,
    env: Any,
) -> None:
    if type_ in TYPES_NEEDING_BASE_URL and not base_url:
        raise invalid(f"A provider of type {type_} needs a base_url.", "base_url")
    if len(set(capabilities)) != len(capabilities):
        raise invalid("List each capability once.", "capabilities")
    if "embeddings" in capabilities and type_ not in EMBEDDING_TYPES:
        raise invalid(f"Providers of type {type_} have no embeddings API.", "capabilities")
    lacking = UNSUPPORTED_CAPABILITIES.get(type_, frozenset()).intersection(capabilities)
    if lacking:
        raise invalid(
            f"A provider of type {type_} cannot have the {', '.join(sorted(lacking))} "
            "capability: its API has no such input.",
            "capabilities",
        )
    if secret not in (None, UNSET) and env not in (None, UNSET):
        raise invalid("Set either secret or secret_env, not both.", "secret_env")
    if isinstance(secret, str) and len(secret.encode()) > MAX_SECRET_BYTES:
        raise invalid(f"The secret may be at most {MAX_SECRET_BYTES} bytes.", "secret")
    if type_ in REQUIRED_SETTINGS and isinstance(settings, ProviderSettings):
        for name in REQUIRED_SETTINGS[type_]:
            if getattr(settings, name) is None:
                raise invalid(
                    f"A provider of type {type_} needs settings.{name}.", f"settings.{name}"
                )
    problem = breaker_problem(settings.breaker) if settings and settings.breaker else None
    if problem:
        raise invalid(f"Breaker settings: {problem}.", "settings.breaker")


def _audit_view(provider: Provider, secret_changed: bool) -> dict[str, Any]:
    shown: dict[str, Any] = msgspec.to_builtins(view(provider))
    if secret_changed:
        shown["secret"] = MASK
    return shown


def _name_taken(name: object) -> Exception:
    return conflict(f"A provider named {name!r} already exists.", "name")


async def create_provider(call: Call) -> ProviderView:
    body: ProviderCreate = call.body
    check_provider_fields(
        body.type, body.base_url, body.capabilities, body.settings, body.secret, body.secret_env
    )
    settings = call.services.settings
    check_env_names(body.secret_env, body.settings, settings.provider_secret_env_allowlist)
    try:
        async with in_transaction():
            provider = await Provider.create(
                name=body.name,
                type=body.type,
                base_url=body.base_url,
                model_map=body.model_map,
                capabilities=body.capabilities,
                enabled=body.enabled,
                settings=msgspec.to_builtins(body.settings),
                secret_ciphertext=encrypt_secret(body.secret, settings) if body.secret else None,
                secret_env=body.secret_env,
            )
            after = _audit_view(provider, body.secret is not None)
            await audit.record(call.actor, "create", "provider", provider.id, after=after)
    except IntegrityError:
        raise _name_taken(body.name) from None
    await bump_config_version()
    return view(provider)


async def rules_targeting(name: str) -> list[RoutingRule]:
    return [
        rule
        for rule in await RoutingRule.all().order_by("id")
        if any(target.get("provider") == name for target in rule.targets or [])
    ]


async def _check_rules_still_valid(provider: Provider, changes: dict[str, Any]) -> None:
    rules = await rules_targeting(provider.name)
    if not rules:
        return
    names = ", ".join(rule.name for rule in rules)
    if "name" in changes and changes["name"] != provider.name:
        raise conflict(f"Rules target this provider by name ({names}); edit them first.", "name")
    capabilities = changes.get("capabilities", provider.capabilities)
    stranded = [rule.name for rule in rules if rule.capability not in capabilities]
    if stranded:
        raise conflict(
            f"Rules need a capability this change removes: {', '.join(stranded)}.",
            "capabilities",
        )


async def update_provider(call: Call) -> ProviderView:
    body: ProviderUpdate = call.body
    provider = await get_provider(call.path["provider_id"])
    refuse_if_managed(call, f"Provider {provider.name!r}", provider.managed_by)
    changes = given_fields(body)
    check_provider_fields(
        changes.get("type", provider.type),
        changes.get("base_url", provider.base_url),
        changes.get("capabilities", provider.capabilities),
        changes.get("settings"),
        body.secret,
        body.secret_env,
    )
    check_env_names(
        body.secret_env,
        changes.get("settings"),
        call.services.settings.provider_secret_env_allowlist,
    )
    await _check_rules_still_valid(provider, changes)
    secret_changed = "secret" in changes or "secret_env" in changes
    if _moves_upstream(provider, changes) and not secret_changed:
        # The stored secret was given for the old upstream; it must not follow a new one.
        changes["secret_ciphertext"] = None
        changes["secret_env"] = None
        secret_changed = bool(provider.secret_ciphertext or provider.secret_env)
    if "settings" in changes:
        changes["settings"] = msgspec.to_builtins(changes["settings"])
    if "secret" in changes:
        secret = changes.pop("secret")
        changes["secret_ciphertext"] = (
            encrypt_secret(secret, call.services.settings) if secret is not None else None
        )
        if secret is not None:
            changes["secret_env"] = None
    if changes.get("secret_env") is not None:
        changes["secret_ciphertext"] = None
    before = _audit_view(provider, False)
    try:
        async with in_transaction():
            provider.update_from_dict(changes)
            await provider.save()
            after = _audit_view(provider, secret_changed)
            await audit.record(call.actor, "update", "provider", provider.id, before, after)
    except IntegrityError:
        raise _name_taken(changes.get("name")) from None
    await bump_config_version()
    return view(provider)


def _moves_upstream(provider: Provider, changes: dict[str, Any]) -> bool:
    base_url: str = changes.get("base_url", provider.base_url)
    type_: str = changes.get("type", provider.type)
    return base_url != provider.base_url or type_ != provider.type


async def delete_provider(call: Call) -> None:
    provider = await get_provider(call.path["provider_id"])
    refuse_if_managed(call, f"Provider {provider.name!r}", provider.managed_by)
    rules = await rules_targeting(provider.name)
    if rules:
        names = ", ".join(rule.name for rule in rules)
        raise conflict(f"Rules still target this provider: {names}. Edit them first.")
    async with in_transaction():
        await audit.record(call.actor, "delete", "provider", provider.id, before=view(provider))
        await provider.delete()
    await bump_config_version()
