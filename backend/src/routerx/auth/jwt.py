"""Admin session tokens: HS256 JWTs signed with JWT_SECRET.

Signed and checked with joserfc, the Authlib project's JOSE library (a dependency of Authlib,
whose own `authlib.jose` is deprecated in its favour). Exactly one algorithm is accepted, so
`alg: none`, RS/ES algorithms and algorithm-confusion tokens are refused before any claim is
read. `exp`, `iat`, `iss`, `jti`, `sub`, `cred` and `sat` are required. `cred` is a tag of the
user's credentials at issue time, so a password change ends every older session at once. `sat`
is when the session began (sign-in); a refreshed token keeps it and never expires later than
`sat` plus the absolute session lifetime. Revocation
and the `cred` comparison need the database and are done by routerx.admin.sessions.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

ALGORITHM = "HS256"
ISSUER = "routerx-admin"
TOKEN_LIFETIME_S = 30 * 60
SESSION_MAX_LIFETIME_S = 12 * 3600
MAX_TOKEN_LENGTH = 4096
CLOCK_LEEWAY_S = 5


class InvalidToken(Exception):
    """The token is malformed, forged, expired or otherwise unacceptable."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    subject: str
    credential_tag: str
    jti: str
    issued_at: int
    expires_at: int
    session_started_at: int


def _key(secret: str) -> OctKey:
    return OctKey.import_key(secret.encode())


def issue_token(
    subject: str,
    credential_tag: str,
    secret: str,
    *,
    lifetime_s: int = TOKEN_LIFETIME_S,
    session_started_at: int | None = None,
    max_session_s: int = SESSION_MAX_LIFETIME_S,
    now: float | None = None,
) -> tuple[str, TokenClaims]:
    """A token valid for `lifetime_s` (the idle limit), but never past the session's end:
    `session_started_at` (default: now, a fresh sign-in) plus `max_session_s`."""
    issued_at = int(time.time() if now is None else now)
    started_at = issued_at if session_started_at is None else session_started_at
    expires_at = min(issued_at + lifetime_s, started_at + max_session_s)
    claims = TokenClaims(
        subject, credential_tag, uuid.uuid4().hex, issued_at, expires_at, started_at
    )
    payload = {
        "iss": ISSUER,
        "sub": claims.subject,
        "cred": claims.credential_tag,
        "jti": claims.jti,
        "iat": claims.issued_at,
        "exp": claims.expires_at,
        "sat": claims.session_started_at,
    }
    token = jwt.encode({"alg": ALGORITHM, "typ": "JWT"}, payload, _key(secret), [ALGORITHM])
    return token, claims


def _registry(now: int) -> jwt.JWTClaimsRegistry:
    return jwt.JWTClaimsRegistry(
        now=now,
        leeway=CLOCK_LEEWAY_S,
        iss={"essential": True, "value": ISSUER},
        sub={"essential": True},
        cred={"essential": True},
        jti={"essential": True},
        iat={"essential": True},
        exp={"essential": True},
        sat={"essential": True},
    )


def _string(claims: dict[str, Any], name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidToken(f"claim {name} must be a non-empty string")
    return value


def _integer(claims: dict[str, Any], name: str) -> int:
    value = claims.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidToken(f"claim {name} must be an integer")
    return value


def verify_token(token: str, secret: str, *, now: float | None = None) -> TokenClaims:
    """Return the claims of a valid token; raise InvalidToken for anything else."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken("token missing or too long")
    current = int(time.time() if now is None else now)
    try:
        decoded = jwt.decode(token, _key(secret), [ALGORITHM])
        _registry(current).validate(decoded.claims)
    except (JoseError, ValueError, TypeError) as exc:
        raise InvalidToken(type(exc).__name__) from None
    claims = decoded.claims
    issued_at = _integer(claims, "iat")
    if issued_at > current + CLOCK_LEEWAY_S:
        raise InvalidToken("token issued in the future")
    return TokenClaims(
        subject=_string(claims, "sub"),
        credential_tag=_string(claims, "cred"),
        jti=_string(claims, "jti"),
        issued_at=issued_at,
        expires_at=_integer(claims, "exp"),
        session_started_at=_integer(claims, "sat"),
    )
