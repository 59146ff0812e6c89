"""The production guard: with ROUTERX_ENV=production, refuse to start on known credentials.

Shared by the admin API and the gateway; both call it after the database is initialised.
"""

from __future__ import annotations

from routerx.auth.passwords import DEFAULT_ADMIN_PASSWORD, verify_password_async
from routerx.settings import EXAMPLE_JWT_SECRET, Settings
from routerx.storage.models import AdminUser


class ProductionConfigError(RuntimeError):
    """A production deployment still uses an example secret or a default password."""


async def check_production(settings: Settings) -> None:
    """Raise ProductionConfigError when production runs with JWT_SECRET unset, the example
    JWT_SECRET, or an enabled admin user whose password is still the seeded `admin123`."""
    if not settings.is_production:
        return
    if not settings.jwt_secret or settings.jwt_secret == EXAMPLE_JWT_SECRET:
        raise ProductionConfigError(
            "ROUTERX_ENV=production but JWT_SECRET is unset or the example value; "
            "set JWT_SECRET to a long random string (e.g. `openssl rand -hex 32`)."
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
            "(POST /api/v1/auth/password, or run the admin API outside production)."
        )
