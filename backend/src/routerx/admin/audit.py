"""The audit trail: who changed what and when, with before/after views that hold no secrets.

The views recorded are the API's own response views (which show `secret_set`, never a secret,
and a key's prefix, never the key or its digest); `scrub` masks any sensitive-looking field
besides, in case a future view forgets.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from routerx.admin.endpoint import Call
from routerx.admin.pagination import (
    Page,
    PageQuery,
    Text32,
    Text64,
    Timestamp,
    paginate,
    time_range,
)
from routerx.auth.secrets import MASK
from routerx.storage.models import AuditEntry

SENSITIVE_FIELDS = frozenset(
    {"secret", "password", "new_password", "current_password", "digest", "token", "key"}
)


def scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: (MASK if key in SENSITIVE_FIELDS and item is not None else scrub(item))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [scrub(item) for item in value]
    return value


async def record(
    actor: str,
    action: str,
    resource_type: str,
    resource_id: object,
    before: Any = None,
    after: Any = None,
) -> None:
    await AuditEntry.create(
        actor=actor,
        action=action,
        resource_type=resource_type,
        resource_id=None if resource_id is None else str(resource_id),
        before=scrub(msgspec.to_builtins(before)) if before is not None else None,
        after=scrub(msgspec.to_builtins(after)) if after is not None else None,
    )


class AuditEntryView(msgspec.Struct):
    id: int
    at: Timestamp
    actor: str
    action: str
    resource_type: str
    resource_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditQuery(PageQuery, kw_only=True):
    actor: Text64 | UnsetType = UNSET
    action: Text32 | UnsetType = UNSET
    resource_type: Text32 | UnsetType = UNSET
    resource_id: Text64 | UnsetType = UNSET
    since: Timestamp | UnsetType = msgspec.field(default=UNSET, name="from")
    until: Timestamp | UnsetType = msgspec.field(default=UNSET, name="to")


def view(entry: AuditEntry) -> AuditEntryView:
    return AuditEntryView(
        entry.id,
        entry.at,
        entry.actor,
        entry.action,
        entry.resource_type,
        entry.resource_id,
        entry.before,
        entry.after,
    )


async def list_audit(call: Call) -> Page[AuditEntryView]:
    """Audit entries, newest first."""
    query: AuditQuery = call.query
    filters: dict[str, Any] = {}
    for name in ("actor", "action", "resource_type", "resource_id"):
        value = getattr(query, name)
        if value is not UNSET:
            filters[name] = value
    filters.update(time_range("at", query.since, query.until))
    return await paginate(AuditEntry.filter(**filters), query, view, "-at", "-id")
