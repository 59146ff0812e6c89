"""The file's types, built from the admin API's own field types and validators, so the file
accepts exactly what the API accepts and the JSON Schema comes from one place.

A new resource joins the file as one more list field of `ConfigFile` with its spec type here and
its kind in `resources.py` (a plan, an apply and an export step each).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from routerx.admin.keys import KeyName, KeyStatus
from routerx.admin.provider_settings import ProviderSettings
from routerx.admin.providers import (
    BaseUrl,
    Capabilities,
    EnvName,
    ModelMap,
    ProviderName,
    ProviderType,
)
from routerx.admin.rules import (
    HedgeDelay,
    ModelPattern,
    OnTransient,
    RuleCapability,
    RuleName,
    StreamRescue,
    Targets,
)
from routerx.admin.tenants import ModelPatterns, Name, RateLimit, TenantStatus

FORMAT_VERSION = 1
SCHEMA_ID = "urn:routerx:config-file:v1"

FileKeyName = Annotated[KeyName, msgspec.Meta(min_length=1)]
KeyDigest = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[0-9a-f]{64}$",
        description="SHA-256 of the key, lowercase hex: the key itself never goes in the file.",
    ),
]


class Spec(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class ProviderSpec(Spec, kw_only=True):
    """An upstream. Its secret is named, never written: `secret_env` is the variable the gateway
    reads it from."""

    name: ProviderName
    type: ProviderType
    base_url: BaseUrl = ""
    capabilities: Capabilities = msgspec.field(default_factory=lambda: ["text"])
    model_map: ModelMap = msgspec.field(default_factory=dict)
    enabled: bool = True
    settings: ProviderSettings = msgspec.field(default_factory=ProviderSettings)
    secret_env: EnvName | None = None


class RuleSpec(Spec, kw_only=True):
    name: RuleName
    model_pattern: ModelPattern
    capability: RuleCapability = "text"
    tenant: Name | None = None  # a tenant's name: the rule applies to that tenant only
    targets: Targets
    hedge_delay_ms: HedgeDelay | None = None
    stream_rescue: StreamRescue = "error"
    on_transient: OnTransient = "retry_same"
    enabled: bool = True


class KeySpec(Spec, kw_only=True):
    """An API key by name. Without `digest`, `routerx config apply` generates the key and shows
    it once."""

    name: FileKeyName
    status: KeyStatus = "active"
    rpm_limit: RateLimit | None = None
    tpm_limit: RateLimit | None = None
    digest: KeyDigest | None = None


class TenantSpec(Spec, kw_only=True):
    name: Name
    status: TenantStatus = "active"
    rpm_limit: RateLimit | None = None
    tpm_limit: RateLimit | None = None
    allowed_models: ModelPatterns = msgspec.field(default_factory=list)
    keys: Annotated[list[KeySpec], msgspec.Meta(max_length=1000)] = msgspec.field(
        default_factory=list
    )


class ConfigFile(Spec, kw_only=True):
    version: Literal[1] = 1  # FORMAT_VERSION
    providers: Annotated[list[ProviderSpec], msgspec.Meta(max_length=1000)] = msgspec.field(
        default_factory=list
    )
    rules: Annotated[list[RuleSpec], msgspec.Meta(max_length=5000)] = msgspec.field(
        default_factory=list
    )
    tenants: Annotated[list[TenantSpec], msgspec.Meta(max_length=10000)] = msgspec.field(
        default_factory=list
    )


def json_schema() -> dict[str, Any]:
    schema = msgspec.json.schema(ConfigFile)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "RouterX configuration file",
        **schema,
    }


def plain(value: Any) -> Any:
    """Builtins with every field left at its default omitted: the short form `export` writes."""
    if isinstance(value, msgspec.Struct):
        shown: dict[str, Any] = {}
        for field in msgspec.structs.fields(value):
            item = getattr(value, field.name)
            if field.default is not msgspec.NODEFAULT and item == field.default:
                continue
            if field.default_factory is not msgspec.NODEFAULT and item == field.default_factory():
                continue
            shown[field.encode_name] = plain(item)
        return shown
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value
