"""Gateway configuration: providers, routing rules and the version that announces changes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from routerx.storage.models.tenancy import Tenant


class Provider(Model):
    """An upstream the gateway can call.

    `settings` holds the type-specific knobs (timeouts, api_version, breaker settings, mock
    faults). The secret is either encrypted at rest (`secret_ciphertext`) or named by an
    environment variable (`secret_env`); it is never returned by any API.
    """

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100, unique=True)
    type = fields.CharField(max_length=32)
    base_url = fields.CharField(max_length=500, default="")
    model_map: fields.JSONField[dict[str, str]] = fields.JSONField(default=dict)
    capabilities: fields.JSONField[list[str]] = fields.JSONField(default=list)
    enabled = fields.BooleanField(default=True)
    settings: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    secret_ciphertext = fields.CharField(max_length=4096, null=True)
    secret_env = fields.CharField(max_length=100, null=True)
    managed_by = fields.CharField(max_length=500, null=True)  # the configuration file's path
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "providers"


class RoutingRule(Model):
    """For a model pattern and capability: ordered target tiers, optionally tenant-scoped."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100, unique=True)
    model_pattern = fields.CharField(max_length=200)
    capability = fields.CharField(max_length=16, default="text")
    tenant: fields.ForeignKeyNullableRelation[Tenant] = fields.ForeignKeyField(
        "models.Tenant", related_name="routing_rules", null=True, on_delete=fields.CASCADE
    )
    # [{"provider": name, "model": upstream model, "weight": int, "tier": int}]
    targets: fields.JSONField[list[dict[str, Any]]] = fields.JSONField(default=list)
    hedge_delay_ms = fields.IntField(null=True)
    stream_rescue = fields.CharField(max_length=16, default="error")  # error | continue
    on_transient = fields.CharField(max_length=16, default="retry_same")  # or fail_over
    # hedge_delay_ms "auto": the primary's measured p95 time to first token (routing.hedge)
    hedge_delay_auto = fields.BooleanField(default=False)
    # "weighted" (shuffle by weight) or "latency" (fastest first, routing.latency) in a tier
    balancing = fields.CharField(max_length=16, default="weighted")
    enabled = fields.BooleanField(default=True)
    managed_by = fields.CharField(max_length=500, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    tenant_id: int | None

    class Meta:
        table = "routing_rules"


class ConfigVersion(Model):
    """One row whose version the admin side bumps on every configuration change."""

    id = fields.IntField(primary_key=True)
    version = fields.BigIntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "config_version"
