"""The production guard, the default admin seed and the password hashing parameters."""

from __future__ import annotations

import secrets
from dataclasses import replace

import pytest

from routerx.admin.app import build_admin_app
from routerx.admin.users import ensure_default_admin
from routerx.auth.api_keys import digest_key
from routerx.auth.passwords import hash_password, needs_rehash, verify_password
from routerx.core.production_guard import ProductionConfigError, check_production, check_secrets
from routerx.settings import EXAMPLE_JWT_SECRET, Settings
from routerx.storage.models import AdminUser, ApiKey, Tenant
from routerx.storage.seed import DEMO_KEY
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


STRONG = {
    "jwt_secret": "j" * 20 + secrets.token_hex(16),
    "secret_key": "s" * 20 + secrets.token_hex(16),
    "internal_token": "i" * 20 + secrets.token_hex(16),
}


@pytest.mark.parametrize(
    ("setting", "value", "named"),
    [
        ("jwt_secret", EXAMPLE_JWT_SECRET, "JWT_SECRET is an example"),
        ("jwt_secret", "", "JWT_SECRET is unset"),
        ("jwt_secret", "too-short-a-secret", "JWT_SECRET is shorter"),
        ("secret_key", "", "ROUTERX_SECRET_KEY is unset"),
        ("secret_key", "REPLACE_ME-" + "x" * 40, "ROUTERX_SECRET_KEY is an example"),
        ("internal_token", "", "ROUTERX_INTERNAL_TOKEN is unset"),
        ("internal_token", "change-me-" + "x" * 40, "ROUTERX_INTERNAL_TOKEN is an example"),
        ("internal_token", STRONG["jwt_secret"], "must differ"),
    ],
)
def test_production_refuses_weak_secrets(setting: str, value: str, named: str) -> None:
    settings = replace(Settings(env="production", **STRONG), **{setting: value})
    with pytest.raises(ProductionConfigError, match=named):
        check_secrets(settings)


async def test_production_guard(admin: Admin) -> None:
    production = replace(admin.settings, env="production", **STRONG)
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
        demo = await ApiKey.create(
            tenant=await Tenant.create(name="guard-demo"),
            name="demo key",
            prefix=DEMO_KEY[:10],
            digest=digest_key(DEMO_KEY),
        )
        try:
            with pytest.raises(ProductionConfigError, match=DEMO_KEY):
                await check_production(production)
            demo.status = "revoked"
            await demo.save()
            await check_production(production)
        finally:
            await demo.delete()
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
