"""A tenant's API keys. The key is shown in plain text once, in the create response; after
that only its prefix. Every route is scoped by the tenant in the path: a key of another tenant is
"not found" here, whatever its id.

A key may carry an expiry (`expires_at`): the gateway refuses it from then on. Rotating a key
issues a new one with the same name and limits and lets the old one live for a grace period.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType
from tortoise.transactions import in_transaction

from routerx.admin import audit
from routerx.admin.endpoint import Call, given_fields
from routerx.admin.errors import invalid, not_found
from routerx.admin.managed import refuse_if_managed
from routerx.admin.pagination import Page, PageQuery, Timestamp, as_utc, paginate
from routerx.admin.tenants import Concurrency, RateLimit, get_tenant
from routerx.auth.api_keys import digest_key, display_prefix, generate_key
from routerx.storage.config_version import bump_config_version
from routerx.storage.models import ApiKey

KeyName = Annotated[str, msgspec.Meta(max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$")]
KeyStatus = Literal["active", "revoked"]
GraceSeconds = Annotated[
    int,
    msgspec.Meta(
        ge=0, le=30 * 86_400, description="How long the old key keeps working, s (at most 30 days)."
    ),
]
DEFAULT_GRACE_S = 3_600


class KeyView(msgspec.Struct):
    id: int
    tenant_id: int
    name: str
    prefix: str
    status: KeyStatus
    rpm_limit: int | None
    tpm_limit: int | None
    created_at: Timestamp
    revoked_at: Timestamp | None
    last_used_at: Timestamp | None
    managed_by: str | None
    expires_at: Timestamp | None
    expired: bool
    replaced_by_id: int | None
    max_concurrency: int | None = None  # requests in flight at once per gateway process


class CreatedKey(msgspec.Struct):
    """The only response that ever holds the key itself: store it now."""

    key: str
    api_key: KeyView


class KeyCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: KeyName = ""
    rpm_limit: RateLimit | None = None
    tpm_limit: RateLimit | None = None
    max_concurrency: Concurrency | None = None
    expires_at: Timestamp | None = None


class KeyUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: KeyName | UnsetType = UNSET
    rpm_limit: RateLimit | UnsetType | None = UNSET
    tpm_limit: RateLimit | UnsetType | None = UNSET
    max_concurrency: Concurrency | UnsetType | None = UNSET
    expires_at: Timestamp | UnsetType | None = UNSET


class KeyRotate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    grace_seconds: GraceSeconds = DEFAULT_GRACE_S


class KeyQuery(PageQuery, kw_only=True):
    status: KeyStatus | UnsetType = UNSET


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def is_expired(key: ApiKey, now: dt.datetime) -> bool:
    return key.expires_at is not None and as_utc(key.expires_at) <= now


def _future(moment: dt.datetime | None) -> dt.datetime | None:
    """An expiry given in a create or update: it must lie ahead (clearing it is allowed)."""
    if moment is None:
        return None
    moment = as_utc(moment, "expires_at")
    if moment <= _now():
        raise invalid("The expiry must be in the future.", "expires_at")
    return moment


def view(key: ApiKey) -> KeyView:
    return KeyView(
        key.id,
        key.tenant_id,
        key.name,
        key.prefix,
        "revoked" if key.status == "revoked" else "active",
        key.rpm_limit,
        key.tpm_limit,
        key.created_at,
        key.revoked_at,
        key.last_used_at,
        key.managed_by,
        key.expires_at,
        is_expired(key, _now()),
        key.replaced_by_id,
        key.max_concurrency,
    )


async def _tenant_key(call: Call) -> ApiKey:
    tenant_id, key_id = call.path["tenant_id"], call.path["key_id"]
    await get_tenant(tenant_id)
    key = await ApiKey.get_or_none(id=key_id, tenant_id=tenant_id)
    if key is None:
        raise not_found("API key", key_id)
    return key


async def list_keys(call: Call) -> Page[KeyView]:
    query: KeyQuery = call.query
    tenant = await get_tenant(call.path["tenant_id"])
    queryset = ApiKey.filter(tenant_id=tenant.id)
    if query.status is not UNSET:
        queryset = queryset.filter(status=query.status)
    return await paginate(queryset, query, view)


async def read_key(call: Call) -> KeyView:
    return view(await _tenant_key(call))


async def create_key(call: Call) -> CreatedKey:
    body: KeyCreate = call.body
    tenant = await get_tenant(call.path["tenant_id"])
    plain = generate_key()
    async with in_transaction():
        key = await ApiKey.create(
            tenant_id=tenant.id,
            name=body.name,
            prefix=display_prefix(plain),
            digest=digest_key(plain),
            rpm_limit=body.rpm_limit,
            tpm_limit=body.tpm_limit,
            max_concurrency=body.max_concurrency,
            expires_at=_future(body.expires_at),
        )
        await audit.record(call.actor, "create", "api_key", key.id, after=view(key))
    await bump_config_version()
    return CreatedKey(plain, view(key))


async def update_key(call: Call) -> KeyView:
    body: KeyUpdate = call.body
    key = await _tenant_key(call)
    refuse_if_managed(call, f"API key {key.name!r}", key.managed_by)
    before = view(key)
    changes = given_fields(body)
    if "expires_at" in changes:
        changes["expires_at"] = _future(changes["expires_at"])
    async with in_transaction():
        key.update_from_dict(changes)
        await key.save()
        await audit.record(call.actor, "update", "api_key", key.id, before, view(key))
    await bump_config_version()
    return view(key)


async def revoke_key(call: Call) -> KeyView:
    """Revoking is final and idempotent; the key stays listed, marked revoked."""
    key = await _tenant_key(call)
    refuse_if_managed(call, f"API key {key.name!r}", key.managed_by)
    if key.status == "revoked":
        return view(key)
    before = view(key)
    async with in_transaction():
        key.status = "revoked"
        key.revoked_at = dt.datetime.now(dt.UTC)
        await key.save()
        await audit.record(call.actor, "revoke", "api_key", key.id, before, view(key))
    await bump_config_version()
    return view(key)


async def rotate_key(call: Call) -> CreatedKey:
    """A new key with the same name and limits, shown once; the old key keeps working for
    `grace_seconds` (0: it stops now), then the gateway refuses it."""
    body: KeyRotate = call.body
    old = await _tenant_key(call)
    refuse_if_managed(call, f"API key {old.name!r}", old.managed_by)
    now = _now()
    if old.status == "revoked" or is_expired(old, now):
        raise invalid("Only a key in use can be rotated: this one is revoked or expired.", None)
    if old.replaced_by_id is not None:
        raise invalid("This key was already rotated; rotate its replacement instead.", None)
    before = view(old)
    plain = generate_key()
    grace_end = now + dt.timedelta(seconds=body.grace_seconds)
    async with in_transaction():
        new = await ApiKey.create(
            tenant_id=old.tenant_id,
            name=old.name,
            prefix=display_prefix(plain),
            digest=digest_key(plain),
            rpm_limit=old.rpm_limit,
            tpm_limit=old.tpm_limit,
            max_concurrency=old.max_concurrency,
            expires_at=old.expires_at,
        )
        if old.expires_at is None or as_utc(old.expires_at) > grace_end:
            old.expires_at = grace_end
        old.replaced_by_id = new.id
        await old.save()
        await audit.record(call.actor, "rotate", "api_key", old.id, before, view(old))
        await audit.record(call.actor, "create", "api_key", new.id, after=view(new))
    await bump_config_version()
    return CreatedKey(plain, view(new))


async def delete_key(call: Call) -> None:
    key = await _tenant_key(call)
    refuse_if_managed(call, f"API key {key.name!r}", key.managed_by)
    async with in_transaction():
        await audit.record(call.actor, "delete", "api_key", key.id, before=view(key))
        await key.delete()
    await bump_config_version()
