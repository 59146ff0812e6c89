"""The production guard, the default admin seed and the password hashing parameters."""

from __future__ import annotations

from dataclasses import replace

import pytest

from routerx.admin.app import build_admin_app
from routerx.admin.guard import ProductionConfigError, check_production
from routerx.admin.users import ensure_default_admin
from routerx.auth.passwords import hash_password, needs_rehash, verify_password
from routerx.settings import EXAMPLE_JWT_SECRET
from routerx.storage.models import AdminUser
from tests.admin.admin_harness import Admin


def test_passwords_use_argon2id_with_the_owasp_parameters() -> None:
    encoded = hash_password("correct horse")
    assert encoded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert verify_password(encoded, "correct horse")
    assert not verify_password(encoded, "wrong horse")
    assert not verify_password("not-a-hash", "x")
    assert not needs_rehash(encoded)
    weak = "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"
    assert needs_rehash(weak)


async def test_ensure_default_admin_is_idempotent(admin: Admin) -> None:
    with admin.database.active():
        assert await ensure_default_admin() is None  # the harness already created it
        assert await AdminUser.filter(role="admin").count() == 1


async def test_production_guard(admin: Admin) -> None:
    production = replace(admin.settings, env="production")
    with admin.database.active():
        await check_production(admin.settings)  # development: nothing to check
        with pytest.raises(ProductionConfigError, match="JWT_SECRET"):
            await check_production(replace(production, jwt_secret=EXAMPLE_JWT_SECRET))
        with pytest.raises(ProductionConfigError, match="admin"):
            await check_production(production)  # admin still has admin123
        seeded = await AdminUser.get(username="admin")
        original = seeded.password_hash
        seeded.password_hash = hash_password("a-real-password")
        await seeded.save()
        try:
            await check_production(production)
        finally:
            seeded.password_hash = original
            await seeded.save()


async def test_the_app_refuses_to_start_in_production_with_the_example_secret(
    admin: Admin,
) -> None:
    settings = replace(admin.settings, env="production", jwt_secret=EXAMPLE_JWT_SECRET)
    app = build_admin_app(settings)
    with pytest.raises(ProductionConfigError, match="JWT_SECRET"):
        async with app.router.lifespan_context(app):
            pass
