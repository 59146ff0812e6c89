"""The production guard: with ROUTERX_ENV=production, refuse to start on known credentials.

Run by the admin API and by the gateway, each after its database is initialised, so neither
serves with a published or guessable secret, the demo key, or an admin still on the seeded
password. The deployment templates ship placeholders that this guard refuses, so they cannot
reach production unedited.
"""

from __future__ import annotations

from routerx.auth.api_keys import digest_key
from routerx.auth.passwords import DEFAULT_ADMIN_PASSWORD, verify_password_async
from routerx.settings import EXAMPLE_JWT_SECRET, Settings
from routerx.storage.models import AdminUser, ApiKey
from routerx.storage.seed import DEMO_KEY

MIN_SECRET_LENGTH = 32
# Words the shipped examples and templates use for values that must be replaced.
PLACEHOLDER_MARKERS = ("change-me", "changeme", "replace_me", "replace-me", "example")


class ProductionConfigError(RuntimeError):
    """A production deployment still uses an example secret or a default password."""


def secret_problem(name: str, value: str) -> str | None:
    """Why `value` cannot serve as the secret `name` in production, or None when it can."""
    lowered = value.lower()
    if not value:
        return f"{name} is unset"
    if value == EXAMPLE_JWT_SECRET or any(marker in lowered for marker in PLACEHOLDER_MARKERS):
        return f"{name} is an example or placeholder value"
    if len(value) < MIN_SECRET_LENGTH:
        return f"{name} is shorter than {MIN_SECRET_LENGTH} characters"
    return None


def check_secrets(settings: Settings) -> None:
    secrets = {
        "JWT_SECRET": settings.jwt_secret,
        "ROUTERX_SECRET_KEY": settings.secret_key,
        "ROUTERX_INTERNAL_TOKEN": settings.internal_token,
    }
    problems = [
        problem for name, value in secrets.items() if (problem := secret_problem(name, value))
    ]
    if len(set(secrets.values())) < len(secrets) and not problems:
        problems.append("JWT_SECRET, ROUTERX_SECRET_KEY and ROUTERX_INTERNAL_TOKEN must differ")
    if problems:
        raise ProductionConfigError(
            "ROUTERX_ENV=production but " + "; ".join(problems) + ". Set each to its own long "
            "random string (e.g. `openssl rand -hex 32`)."
        )


async def check_production(settings: Settings) -> None:
    """Raise ProductionConfigError when production runs with an unset, example or short secret,
    the demo API key still active, or an enabled admin user whose password is the seeded one."""
    if not settings.is_production:
        return
    check_secrets(settings)
    if await ApiKey.filter(digest=digest_key(DEMO_KEY), status="active").exists():
        raise ProductionConfigError(
            f"ROUTERX_ENV=production but the demo API key {DEMO_KEY} is active; revoke it "
            "(POST /api/v1/tenants/{tenant_id}/keys/{key_id}/revoke outside production)."
        )
    users = await AdminUser.filter(disabled=False).values_list("username", "password_hash")
    defaults = [
        username
        for username, password_hash in users
        if await verify_password_async(password_hash, DEFAULT_ADMIN_PASSWORD)
    ]
    if defaults:
        raise ProductionConfigError(
            "ROUTERX_ENV=production but these admin users still have the default password "
            f"{DEFAULT_ADMIN_PASSWORD!r}: {', '.join(defaults)}. Change it first "
            "(POST /api/v1/auth/password, or `routerx create-admin`)."
        )
