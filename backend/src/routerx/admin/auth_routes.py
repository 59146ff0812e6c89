"""Sign-in, session refresh and sign-out, the caller's own profile and password."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from routerx.admin import audit
from routerx.admin.endpoint import Call
from routerx.admin.errors import ApiError, invalid, too_many_attempts
from routerx.admin.pagination import Timestamp
from routerx.admin.sessions import UserRole, clear_session_cookie, open_session, revoke, role_of
from routerx.admin.throttle import throttle_keys
from routerx.admin.users import Password
from routerx.auth.passwords import (
    DEFAULT_ADMIN_PASSWORD,
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


def client_ip(request: Request, trusted_proxies: frozenset[str]) -> str | None:
    """The caller's address for throttling; None when it is a proxy such as the console."""
    host = request.client.host if request.client else None
    return None if host is None or host in trusted_proxies else host


def _bad_credentials() -> ApiError:
    return ApiError(401, "Incorrect username or password.", None, "invalid_credentials")


async def login(call: Call) -> Response:
    body: Credentials = call.body
    throttle = call.services.throttle
    keys = throttle_keys(
        body.username, client_ip(call.request, call.services.settings.trusted_proxies)
    )
    wait = await throttle.retry_after(keys)
    if wait is not None:
        raise too_many_attempts(wait)
    user = await AdminUser.get_or_none(username=body.username)
    stored_hash = user.password_hash if user is not None and not user.disabled else None
    if user is None or stored_hash is None:
        await verify_password_async(None, body.password)
        await throttle.record_failure(keys)
        raise _bad_credentials()
    if not await verify_password_async(stored_hash, body.password):
        await throttle.record_failure(keys)
        raise _bad_credentials()
    await throttle.clear(keys[0])
    if needs_rehash(stored_hash):
        user.password_hash = await hash_password_async(body.password)
        await user.save(update_fields=["password_hash"])
    return open_session(call.request, user, call.services.settings.jwt_secret)


async def refresh(call: Call) -> Response:
    """A new token for a live session; the presented one is revoked (rotation)."""
    assert call.session is not None
    await revoke(call.session.claims)
    return open_session(call.request, call.user, call.services.settings.jwt_secret)


async def logout(call: Call) -> Response:
    assert call.session is not None
    await revoke(call.session.claims)
    response = Response(status_code=204)
    clear_session_cookie(call.request, response)
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
    throttle = call.services.throttle
    keys = throttle_keys(
        user.username, client_ip(call.request, call.services.settings.trusted_proxies)
    )
    wait = await throttle.retry_after(keys)
    if wait is not None:
        raise too_many_attempts(wait)
    if not await verify_password_async(user.password_hash, body.current_password):
        await throttle.record_failure(keys)
        raise invalid(
            "The current password is not correct.", "current_password", "invalid_credentials"
        )
    if body.new_password == body.current_password:
        raise invalid("Choose a password other than the current one.", "new_password")
    if body.new_password == DEFAULT_ADMIN_PASSWORD:
        raise invalid("Choose a password other than the default one.", "new_password")
    user.password_hash = await hash_password_async(body.new_password)
    user.password_changed_at = dt.datetime.now(dt.UTC)
    await user.save(update_fields=["password_hash", "password_changed_at"])
    await revoke(call.session.claims)
    await audit.record(user.username, "password_change", "user", user.id)
    return open_session(call.request, user, call.services.settings.jwt_secret)
