"""Admin users (admin role only), and the seeded default admin.

An admin cannot delete, disable, demote or reset the password of their own account here, so
there is always at least one enabled admin: the one making the change. (A user changes their own
password through `POST /auth/password`, which asks for the current one.)
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from routerx.admin import audit
from routerx.admin.endpoint import Call, given_fields
from routerx.admin.errors import conflict, invalid, not_found
from routerx.admin.pagination import Page, PageQuery, Timestamp, paginate
from routerx.auth.passwords import (
    DEFAULT_ADMIN_PASSWORD,
    DEFAULT_ADMIN_USERNAME,
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    hash_password_async,
    password_problem,
)
from routerx.storage.models import AdminUser

log = logging.getLogger("routerx.admin")

Username = Annotated[
    str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]*$")
]
Password = Annotated[
    str, msgspec.Meta(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)
]
UserRole = Literal["admin", "viewer"]


class UserView(msgspec.Struct):
    id: int
    username: str
    role: UserRole
    disabled: bool
    created_at: Timestamp
    password_changed_at: Timestamp | None


class UserCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    username: Username
    password: Password
    role: UserRole = "viewer"


class UserUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    role: UserRole | UnsetType = UNSET
    disabled: bool | UnsetType = UNSET


class PasswordReset(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    password: Password


class UserQuery(PageQuery, kw_only=True):
    role: UserRole | UnsetType = UNSET
    disabled: bool | UnsetType = UNSET


def view(user: AdminUser) -> UserView:
    return UserView(
        user.id,
        user.username,
        "admin" if user.role == "admin" else "viewer",
        user.disabled,
        user.created_at,
        user.password_changed_at,
    )


async def _other_user(call: Call, verb: str) -> AdminUser:
    user = await AdminUser.get_or_none(id=call.path["user_id"])
    if user is None:
        raise not_found("User", call.path["user_id"])
    if user.id == call.user.id:
        raise conflict(f"You cannot {verb} your own account.")
    return user


async def list_users(call: Call) -> Page[UserView]:
    query: UserQuery = call.query
    queryset = AdminUser.all()
    if query.role is not UNSET:
        queryset = queryset.filter(role=query.role)
    if query.disabled is not UNSET:
        queryset = queryset.filter(disabled=query.disabled)
    return await paginate(queryset, query, view)


async def read_user(call: Call) -> UserView:
    user = await AdminUser.get_or_none(id=call.path["user_id"])
    if user is None:
        raise not_found("User", call.path["user_id"])
    return view(user)


def check_new_password(password: str, username: str, field: str) -> None:
    problem = password_problem(password, username)
    if problem is not None:
        raise invalid(problem, field, "weak_password")


async def create_user(call: Call) -> UserView:
    body: UserCreate = call.body
    check_new_password(body.password, body.username, "password")
    password_hash = await hash_password_async(body.password)
    try:
        async with in_transaction():
            user = await AdminUser.create(
                username=body.username, password_hash=password_hash, role=body.role
            )
            await audit.record(call.actor, "create", "user", user.id, after=view(user))
    except IntegrityError:
        raise conflict(f"The username {body.username!r} is taken.", "username") from None
    return view(user)


async def update_user(call: Call) -> UserView:
    body: UserUpdate = call.body
    user = await _other_user(call, "change the role or status of")
    return await _apply(call, user, given_fields(body), "update")


async def disable_user(call: Call) -> UserView:
    return await _apply(call, await _other_user(call, "disable"), {"disabled": True}, "disable")


async def enable_user(call: Call) -> UserView:
    return await _apply(call, await _other_user(call, "enable"), {"disabled": False}, "enable")


async def _apply(call: Call, user: AdminUser, changes: dict[str, object], action: str) -> UserView:
    before = view(user)
    async with in_transaction():
        user.update_from_dict(changes)
        await user.save()
        await audit.record(call.actor, action, "user", user.id, before, view(user))
    return view(user)


async def reset_password(call: Call) -> UserView:
    """Sets a new password and ends every session of that user."""
    body: PasswordReset = call.body
    user = await _other_user(call, "reset the password of")
    check_new_password(body.password, user.username, "password")
    password_hash = await hash_password_async(body.password)
    changes = {"password_hash": password_hash, "password_changed_at": dt.datetime.now(dt.UTC)}
    return await _apply(call, user, changes, "reset_password")


async def delete_user(call: Call) -> None:
    user = await _other_user(call, "delete")
    async with in_transaction():
        await audit.record(call.actor, "delete", "user", user.id, before=view(user))
        await user.delete()


async def ensure_default_admin() -> AdminUser | None:
    """Create admin/admin123 (role admin) when no admin exists; None when one already does.

    Idempotent. Needs an initialised Tortoise context (the seed command has one).
    """
    if await AdminUser.filter(role="admin").exists():
        return None
    user = await AdminUser.get_or_none(username=DEFAULT_ADMIN_USERNAME)
    if user is not None:
        # The name is taken by a non-admin: promote it rather than leave no admin at all.
        user.role = "admin"
        await user.save(update_fields=["role"])
        return user
    user = await AdminUser.create(
        username=DEFAULT_ADMIN_USERNAME,
        password_hash=await hash_password_async(DEFAULT_ADMIN_PASSWORD),
        role="admin",
    )
    log.info("created the default admin user %r; change its password", DEFAULT_ADMIN_USERNAME)
    return user


async def upsert_admin(username: str, password: str) -> bool:
    """Create an admin with this password, or make the user an admin with it. True if created.

    For `routerx create-admin`: the way to a first admin in production, where the seeded
    admin/admin123 is refused."""
    password_hash = await hash_password_async(password)
    user = await AdminUser.get_or_none(username=username)
    if user is None:
        await AdminUser.create(username=username, password_hash=password_hash, role="admin")
        return True
    user.password_hash, user.role, user.disabled = password_hash, "admin", False
    await user.save(update_fields=["password_hash", "role", "disabled"])
    return False
