"""Who is calling: a session JWT from the `routerx_session` cookie or an `Authorization: Bearer`.

A token is good only while it verifies (routerx.auth.jwt), its `jti` is not revoked, its user
exists and is enabled, and its `cred` tag matches the user's current password hash: a password
change (new hash, new salt) ends every older session at once, whatever the clock says. Role and
status are read from the database on every request, so disabling a user or changing a role
takes effect at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from typing import Literal

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from routerx.admin.errors import forbidden, unauthenticated
from routerx.auth.jwt import InvalidToken, TokenClaims, issue_token, verify_token
from routerx.settings import Settings
from routerx.storage.models import AdminUser, RevokedToken

COOKIE_NAME = "routerx_session"
Role = Literal["public", "viewer", "admin"]
UserRole = Literal["admin", "viewer"]


@dataclass(frozen=True, slots=True)
class Session:
    user: AdminUser
    claims: TokenClaims
    from_cookie: bool  # a browser sends the cookie by itself, so such calls need CSRF proof


class SessionToken(msgspec.Struct):
    """A fresh session: also set as the httpOnly cookie; scripts send it as a Bearer token."""

    token: str
    token_type: Literal["bearer"]
    expires_at: dt.datetime
    username: str
    role: UserRole


def presented_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        return value.strip() if scheme.lower() == "bearer" else None
    return request.cookies.get(COOKIE_NAME)


def uses_cookie(request: Request) -> bool:
    return request.headers.get("authorization") is None and COOKIE_NAME in request.cookies


def credential_tag(user: AdminUser) -> str:
    """Changes whenever the password does; tells nothing about the password."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


async def authenticate(request: Request, jwt_secret: str) -> Session:
    token = presented_token(request)
    if not token:
        raise unauthenticated()
    try:
        claims = verify_token(token, jwt_secret)
    except InvalidToken:
        raise unauthenticated("The session token is invalid or expired.") from None
    if await RevokedToken.exists(jti=claims.jti):
        raise unauthenticated("The session has ended; sign in again.")
    user = await AdminUser.get_or_none(username=claims.subject)
    if user is None or user.disabled:
        raise unauthenticated("The session's user no longer exists or is disabled.")
    if not hmac.compare_digest(claims.credential_tag, credential_tag(user)):
        raise unauthenticated("The password changed since this session began; sign in again.")
    return Session(user, claims, uses_cookie(request))


def authorize(session: Session, role: Role) -> None:
    if role == "admin" and session.user.role != "admin":
        raise forbidden("Only an admin may do this; your role is read-only.")


async def revoke(claims: TokenClaims) -> None:
    now = dt.datetime.now(dt.UTC)
    await RevokedToken.filter(expires_at__lt=now).delete()
    expires = dt.datetime.fromtimestamp(claims.expires_at, dt.UTC)
    await RevokedToken.get_or_create(jti=claims.jti, defaults={"expires_at": expires})


def served_over_tls(request: Request, settings: Settings) -> bool:
    """Whether the browser reached us over HTTPS: directly, or as a trusted proxy says."""
    if settings.session_cookie_secure != "auto":
        return settings.session_cookie_secure == "true"
    if request.url.scheme == "https":
        return True
    peer = request.client.host if request.client else None
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return peer in settings.trusted_proxies and forwarded == "https"


def open_session(
    request: Request, user: AdminUser, settings: Settings, started_at: int | None = None
) -> Response:
    """Issue a token for `user` and answer with it, in the body and as the session cookie.

    `started_at`: when the session being continued began (a refresh); None for a sign-in."""
    token, claims = issue_token(
        user.username,
        credential_tag(user),
        settings.jwt_secret,
        session_started_at=started_at,
        max_session_s=settings.session_max_lifetime_s,
    )
    expires_at = dt.datetime.fromtimestamp(claims.expires_at, dt.UTC)
    body = SessionToken(token, "bearer", expires_at, user.username, role_of(user))
    response = Response(msgspec.json.encode(body), media_type="application/json")
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=claims.expires_at - claims.issued_at,
        path="/",
        secure=served_over_tls(request, settings),
        httponly=True,
        samesite="lax",
    )
    return response


def clear_session_cookie(request: Request, response: Response, settings: Settings) -> None:
    response.delete_cookie(
        COOKIE_NAME,
        path="/",
        secure=served_over_tls(request, settings),
        httponly=True,
        samesite="lax",
    )


def role_of(user: AdminUser) -> UserRole:
    return "admin" if user.role == "admin" else "viewer"
