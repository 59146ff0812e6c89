"""Tenants and the API keys that identify them."""

from tortoise import fields
from tortoise.models import Model


class Tenant(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100, unique=True)
    status = fields.CharField(max_length=16, default="active")  # active | disabled
    rpm_limit = fields.IntField(null=True)
    tpm_limit = fields.IntField(null=True)
    max_concurrency = fields.IntField(null=True)  # requests in flight at once; null: no cap
    # An empty list allows every routed model.
    allowed_models: fields.JSONField[list[str]] = fields.JSONField(default=list)
    managed_by = fields.CharField(max_length=500, null=True)  # the configuration file's path
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "tenants"


class ApiKey(Model):
    """An API key, kept only as a SHA-256 digest plus a short prefix for display."""

    id = fields.IntField(primary_key=True)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "models.Tenant", related_name="api_keys", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=100, default="")
    prefix = fields.CharField(max_length=16)
    digest = fields.CharField(max_length=64, unique=True)
    status = fields.CharField(max_length=16, default="active")  # active | revoked
    rpm_limit = fields.IntField(null=True)
    tpm_limit = fields.IntField(null=True)
    managed_by = fields.CharField(max_length=500, null=True)
    max_concurrency = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)
    # The gateway refuses the key from this moment on (set by hand, or by a rotation's grace).
    expires_at = fields.DatetimeField(null=True)
    # The key that replaced this one in a rotation.
    replaced_by_id = fields.IntField(null=True)

    tenant_id: int

    class Meta:
        table = "api_keys"
