"""Tenants: who may call the gateway, with their rate limits and allowed models."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from routerx.admin import audit
from routerx.admin.endpoint import Call, given_fields
from routerx.admin.errors import conflict, not_found
from routerx.admin.managed import refuse_if_managed
from routerx.admin.pagination import Page, PageQuery, Text100, Timestamp, paginate
from routerx.storage.config_version import bump_config_version
from routerx.storage.models import Tenant

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]
RateLimit = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]
Concurrency = Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
ModelPattern = Annotated[
    str, msgspec.Meta(min_length=1, max_length=200, pattern=r"^[^\x00-\x20\x7f]+$")
]
ModelPatterns = Annotated[list[ModelPattern], msgspec.Meta(max_length=200)]
TenantStatus = Literal["active", "disabled"]


class TenantView(msgspec.Struct):
    id: int
    name: str
    status: TenantStatus
    rpm_limit: int | None
    tpm_limit: int | None
    allowed_models: list[str]
    created_at: Timestamp
    updated_at: Timestamp
    managed_by: str | None
    max_concurrency: int | None = None  # requests in flight at once per gateway process


class TenantCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Name
    status: TenantStatus = "active"
    rpm_limit: RateLimit | None = None
    tpm_limit: RateLimit | None = None
    allowed_models: ModelPatterns = msgspec.field(default_factory=list)
    max_concurrency: Concurrency | None = None


class TenantUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Name | UnsetType = UNSET
    status: TenantStatus | UnsetType = UNSET
    rpm_limit: RateLimit | UnsetType | None = UNSET
    tpm_limit: RateLimit | UnsetType | None = UNSET
    allowed_models: ModelPatterns | UnsetType = UNSET
    max_concurrency: Concurrency | UnsetType | None = UNSET


class TenantQuery(PageQuery, kw_only=True):
    status: TenantStatus | UnsetType = UNSET
    name: Text100 | UnsetType = msgspec.field(default=UNSET, name="q")


def view(tenant: Tenant) -> TenantView:
    return TenantView(
        tenant.id,
        tenant.name,
        "disabled" if tenant.status == "disabled" else "active",
        tenant.rpm_limit,
        tenant.tpm_limit,
        list(tenant.allowed_models or []),
        tenant.created_at,
        tenant.updated_at,
        tenant.managed_by,
        tenant.max_concurrency,
    )


async def get_tenant(tenant_id: int) -> Tenant:
    tenant = await Tenant.get_or_none(id=tenant_id)
    if tenant is None:
        raise not_found("Tenant", tenant_id)
    return tenant


async def list_tenants(call: Call) -> Page[TenantView]:
    query: TenantQuery = call.query
    queryset = Tenant.all()
    if query.status is not UNSET:
        queryset = queryset.filter(status=query.status)
    if query.name is not UNSET:
        queryset = queryset.filter(name__icontains=query.name)
    return await paginate(queryset, query, view)


async def read_tenant(call: Call) -> TenantView:
    return view(await get_tenant(call.path["tenant_id"]))


def _name_taken(name: str) -> Exception:
    return conflict(f"A tenant named {name!r} already exists.", "name")


async def create_tenant(call: Call) -> TenantView:
    body: TenantCreate = call.body
    try:
        async with in_transaction():
            tenant = await Tenant.create(
                name=body.name,
                status=body.status,
                rpm_limit=body.rpm_limit,
                tpm_limit=body.tpm_limit,
                allowed_models=body.allowed_models,
                max_concurrency=body.max_concurrency,
            )
            await audit.record(call.actor, "create", "tenant", tenant.id, after=view(tenant))
    except IntegrityError:
        raise _name_taken(body.name) from None
    await bump_config_version()
    return view(tenant)


async def update_tenant(call: Call) -> TenantView:
    body: TenantUpdate = call.body
    tenant = await get_tenant(call.path["tenant_id"])
    refuse_if_managed(call, f"Tenant {tenant.name!r}", tenant.managed_by)
    before = view(tenant)
    changes = given_fields(body)
    try:
        async with in_transaction():
            tenant.update_from_dict(changes)
            await tenant.save()
            await audit.record(call.actor, "update", "tenant", tenant.id, before, view(tenant))
    except IntegrityError:
        raise _name_taken(str(changes.get("name"))) from None
    await bump_config_version()
    return view(tenant)


async def delete_tenant(call: Call) -> None:
    """Deletes the tenant with its keys and tenant-scoped rules; its logs stay."""
    tenant = await get_tenant(call.path["tenant_id"])
    refuse_if_managed(call, f"Tenant {tenant.name!r}", tenant.managed_by)
    async with in_transaction():
        await audit.record(call.actor, "delete", "tenant", tenant.id, before=view(tenant))
        await tenant.delete()
    await bump_config_version()
