"""The routerx command line: migrate and seed are idempotent; create-admin unlocks production."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest

from routerx.auth.api_keys import digest_key
from routerx.core.production_guard import ProductionConfigError, check_production
from routerx.settings import EXAMPLE_JWT_SECRET, Settings
from routerx.storage.models import AdminUser, ApiKey, Provider, RoutingRule, Tenant
from routerx.storage.seed import DEMO_KEY, RULES
from tests.support.database import connected
from tests.support.processes import BACKEND, ROUTERX, base_env


def routerx(database_url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ROUTERX, *args],
        env=base_env(database_url, **env),
        cwd=BACKEND,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def counts(database_url: str) -> tuple[int, ...]:
    async with connected(database_url):
        return tuple(
            [
                await model.all().count()
                for model in (Tenant, ApiKey, Provider, RoutingRule, AdminUser)
            ]
        )


async def test_migrate_and_seed_twice_change_nothing_the_second_time(pg_url: str) -> None:
    for _ in range(2):
        assert routerx(pg_url, "migrate").returncode == 0
    first = routerx(pg_url, "seed")
    assert first.returncode == 0 and "tenant demo" in first.stdout
    after_first = await counts(pg_url)
    second = routerx(pg_url, "seed")
    assert second.returncode == 0 and "nothing new" in second.stdout
    assert await counts(pg_url) == after_first == (1, 1, 4, len(RULES), 1)


async def test_create_admin_replaces_the_default_password(tmp_path: Path) -> None:
    database_url = f"sqlite://{tmp_path / 'rx.sqlite3'}"
    assert routerx(database_url, "migrate").returncode == 0
    assert routerx(database_url, "seed").returncode == 0
    production = Settings(
        database_url=database_url,
        env="production",
        jwt_secret="a-real-secret-for-this-test-0123456789",
        secret_key="a-real-key-for-provider-secrets-0123456789",
        internal_token="a-real-token-for-the-internal-api-0123456789",
    )
    async with connected(database_url):
        await ApiKey.filter(digest=digest_key(DEMO_KEY)).update(status="revoked")
        with pytest.raises(ProductionConfigError, match=r"admin123|default password"):
            await check_production(production)

    weak = routerx(database_url, "create-admin", ROUTERX_ADMIN_PASSWORD="short")
    assert weak.returncode == 2
    done = routerx(database_url, "create-admin", ROUTERX_ADMIN_PASSWORD="correct horse battery")
    assert done.returncode == 0 and "updated" in done.stdout
    assert "correct horse" not in done.stdout + done.stderr
    async with connected(database_url):
        await check_production(production)


def local_secrets_in(directory: Path, **env: str) -> dict[str, str]:
    environment = {
        k: v for k, v in base_env("").items() if k not in {"JWT_SECRET", "ROUTERX_INTERNAL_TOKEN"}
    }
    environment.update(env)
    result = subprocess.run(
        [ROUTERX, "local-secrets"],
        env=environment,
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    exports = {}
    for line in result.stdout.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        exports[name] = value
    return exports


def test_make_run_generates_each_secret_once_and_keeps_it_private(tmp_path: Path) -> None:
    first = local_secrets_in(tmp_path, JWT_SECRET=EXAMPLE_JWT_SECRET)
    assert set(first) == {"JWT_SECRET", "ROUTERX_SECRET_KEY", "ROUTERX_INTERNAL_TOKEN"}
    assert len(set(first.values())) == 3
    assert all(len(value) == 64 and int(value, 16) >= 0 for value in first.values())
    stored = tmp_path / "data" / "local-secrets.json"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert local_secrets_in(tmp_path) == first  # a restart keeps them
    # A value the operator set is theirs: neither printed nor replaced.
    chosen = local_secrets_in(tmp_path, JWT_SECRET="my-own-jwt-secret-" + "x" * 30)
    assert set(chosen) == {"ROUTERX_SECRET_KEY", "ROUTERX_INTERNAL_TOKEN"}
    assert chosen["ROUTERX_SECRET_KEY"] == first["ROUTERX_SECRET_KEY"]
