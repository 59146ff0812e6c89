"""Sign-in, session refresh and sign-out, the caller's own profile and password."""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated

import msgspec
from starlette.responses import Response

from routerx.admin import audit
from routerx.admin.client_address import client_address
from routerx.admin.endpoint import Call
from routerx.admin.errors import ApiError, invalid, too_many_attempts, unauthenticated
from routerx.admin.pagination import Timestamp
from routerx.admin.sessions import UserRole, clear_session_cookie, open_session, revoke, role_of
from routerx.admin.throttle import Reservation, attempt_keys
from routerx.admin.users import Password, check_new_password
from routerx.auth.passwords import (
    MAX_PASSWORD_LENGTH,
    hash_password_async,
    needs_rehash,
    verify_password_async,
)
from routerx.storage.models import AdminUser

AnyPassword = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_PASSWORD_LENGTH)]


class Credentials(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    password: AnyPassword


class PasswordChange(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    current_password: AnyPassword
    new_password: Password


class Me(msgspec.Struct):
    id: int
    username: str
    role: UserRole
    default_password: bool
    session_expires_at: Timestamp


def _bad_credentials() -> ApiError:
    return ApiError(401, "Incorrect username or password.", None, "invalid_credentials")


async def _reserve_attempt(call: Call, username: str, address: str) -> Reservation:
    reserved = await call.services.throttle.reserve(attempt_keys(username, address))
    if not isinstance(reserved, Reservation):
        raise too_many_attempts(reserved)
    return reserved


UNKNOWN_USER_ACTOR = "(unknown user)"


async def _audit_sign_in(user: AdminUser | None, address: str, ok: bool) -> None:
    """A name that matches no user is not recorded: people type passwords into that box."""
    await audit.record(
        user.username if user is not None else UNKNOWN_USER_ACTOR,
        "login" if ok else "login_failed",
        "user",
        user.id if user is not None else None,
        after={"address": address},
    )


async def login(call: Call) -> Response:
    body: Credentials = call.body
    address = client_address(call.request, call.services.settings)
    reservation = await _reserve_attempt(call, body.username, address)
    user = await AdminUser.get_or_none(username=body.username)
    stored_hash = user.password_hash if user is not None and not user.disabled else None
    if user is None or stored_hash is None:
        await verify_password_async(None, body.password)
        await _audit_sign_in(user, address, ok=False)
        raise _bad_credentials()
    if not await verify_password_async(stored_hash, body.password):
        await _audit_sign_in(user, address, ok=False)
        raise _bad_credentials()
    await call.services.throttle.succeeded(reservation)
    await _audit_sign_in(user, address, ok=True)
    if needs_rehash(stored_hash):
        user.password_hash = await hash_password_async(body.password)
        await user.save(update_fields=["password_hash"])
    return open_session(call.request, user, call.services.settings)


async def refresh(call: Call) -> Response:
    """A new token for a live session; the presented one is revoked (rotation). The session's
    start carries over, so refreshing never outlives the absolute session lifetime."""
    assert call.session is not None
    claims = call.session.claims
    if time.time() >= claims.session_started_at + call.services.settings.session_max_lifetime_s:
        raise unauthenticated("The session reached its maximum lifetime; sign in again.")
    await revoke(claims)
    return open_session(
        call.request, call.user, call.services.settings, started_at=claims.session_started_at
    )


async def logout(call: Call) -> Response:
    assert call.session is not None
    await revoke(call.session.claims)
    response = Response(status_code=204)
    clear_session_cookie(call.request, response, call.services.settings)
    return response


async def me(call: Call) -> Me:
    assert call.session is not None
    user = call.user
    return Me(
        user.id,
        user.username,
        role_of(user),
        await call.services.default_passwords.is_default(user.password_hash),
        dt.datetime.fromtimestamp(call.session.claims.expires_at, dt.UTC),
    )


async def change_password(call: Call) -> Response:
    """Needs the current password; ends every other session and opens a new one."""
    assert call.session is not None
    body: PasswordChange = call.body
    user = call.user
    address = client_address(call.request, call.services.settings)
    reservation = await _reserve_attempt(call, user.username, address)
    if not await verify_password_async(user.password_hash, body.current_password):
        raise invalid(
            "The current password is not correct.", "current_password", "invalid_credentials"
        )
    await call.services.throttle.succeeded(reservation)
    if body.new_password == body.current_password:
        raise invalid("Choose a password other than the current one.", "new_password")
    check_new_password(body.new_password, user.username, "new_password")
    user.password_hash = await hash_password_async(body.new_password)
    user.password_changed_at = dt.datetime.now(dt.UTC)
    await user.save(update_fields=["password_hash", "password_changed_at"])
    await revoke(call.session.claims)
    await audit.record(user.username, "password_change", "user", user.id)
    return open_session(call.request, user, call.services.settings)
