"""Admin passwords: argon2id with the OWASP parameters (m=19 MiB, t=2, p=1).

Hashing takes tens of milliseconds on purpose; the async helpers run it in a worker thread so
that one login does not stall every other request on the event loop.
"""

from __future__ import annotations

import asyncio
from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
DEFAULT_ADMIN_USERNAME = "admin"
DEFAULT_ADMIN_PASSWORD = "admin123"  # noqa: S105 - the documented seed password, refused in production
# Passwords that ship in documentation, examples and defaults of this and similar products:
# long enough to pass the length rule, guessed first by anyone.
KNOWN_DEFAULT_PASSWORDS = frozenset(
    {
        DEFAULT_ADMIN_PASSWORD,
        "admin1234567",
        "adminadmin12",
        "administrator",
        "password1234",
        "password12345",
        "passwordpassword",
        "changeme1234",
        "change-me-please",
        "change-me-in-production-please",
        "routerx-admin",
        "routerxadmin",
        "routerx123456",
        "123456789012",
        "qwertyuiop12",
    }
)

HASHER = PasswordHasher(
    time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16, type=Type.ID
)


def password_problem(password: str, username: str) -> str | None:
    """Why `password` may not be set for `username`, or None when it may."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    lowered = password.casefold()
    if lowered in KNOWN_DEFAULT_PASSWORDS or lowered == username.casefold():
        return "This password is a known default; choose another."
    return None


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than HASHER's (upgrade it at login)."""
    try:
        return HASHER.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    return hash_password("routerx-decoy-password")


async def hash_password_async(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)


async def verify_password_async(password_hash: str | None, password: str) -> bool:
    """Verify; with no hash (unknown user) spend the same time on a decoy so that timing
    does not tell which usernames exist."""
    if password_hash is None:
        await asyncio.to_thread(verify_password, _decoy_hash(), password)
        return False
    return await asyncio.to_thread(verify_password, password_hash, password)
