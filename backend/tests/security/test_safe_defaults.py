"""Safe by default: listeners on loopback unless HOST opens them, and every service refusing
production with a published, empty or short secret, the demo key or the seeded password; the
deployment templates cannot reach production unedited."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import subprocess
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from unittest import mock

import pytest
import yaml

from routerx.auth.api_keys import digest_key
from routerx.auth.passwords import hash_password
from routerx.core.production_guard import ProductionConfigError, check_secrets
from routerx.settings import EXAMPLE_JWT_SECRET, SettingsError, load_settings
from routerx.storage.models import AdminUser, ApiKey
from routerx.storage.seed import DEMO_KEY
from tests.conftest import create_pg_database, drop_pg_database
from tests.support.database import connected, prepare
from tests.support.processes import BACKEND, ROUTERX, ServerProcess, base_env, free_port

REPO = Path(__file__).resolve().parents[3]
K8S = REPO / "deploy" / "k8s"


def strong() -> dict[str, str]:
    return {
        "JWT_SECRET": secrets.token_hex(32),
        "ROUTERX_SECRET_KEY": secrets.token_hex(32),
        "ROUTERX_INTERNAL_TOKEN": secrets.token_hex(32),
    }


def without_hosts(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in {"HOST", "GATEWAY_HOST", "ADMIN_HOST"}}


def accepts(address: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(2)
        return probe.connect_ex((address, port)) == 0


@pytest.fixture(scope="module")
async def seeded_database() -> AsyncIterator[str]:
    url = await create_pg_database()
    try:
        await asyncio.create_task(prepare(url))  # migrated and seeded: demo key, admin/admin123
        yield url
    finally:
        await drop_pg_database(url)


@pytest.mark.parametrize("command", ["gateway", "admin"])
async def test_listeners_bind_loopback_unless_host_opens_them(
    seeded_database: str, command: str
) -> None:
    server = ServerProcess(
        command, without_hosts(base_env(seeded_database)), free_port(), pin_hosts=False
    )
    server.start()
    try:
        await server.wait_ready("/readyz" if command == "gateway" else "/healthz")
        assert accepts("127.0.0.1", server.port)
        # Another loopback address of this machine: reachable only on a wildcard bind.
        assert not accepts("127.0.0.2", server.port)
    finally:
        server.stop()
    opened = ServerProcess(
        command,
        {**without_hosts(base_env(seeded_database)), "HOST": "0.0.0.0"},
        free_port(),
        pin_hosts=False,
    )
    opened.start()
    try:
        await opened.wait_ready("/readyz" if command == "gateway" else "/healthz")
        assert accepts("127.0.0.2", opened.port)
    finally:
        opened.stop()


def refused_start(command: str, env: dict[str, str], timeout_s: float = 60.0) -> str:
    """Run a service that must refuse to start: it exits non-zero; its output says why."""
    process = subprocess.run(
        [ROUTERX, command],
        env={**env, "GATEWAY_PORT": str(free_port()), "ADMIN_PORT": str(free_port())},
        cwd=BACKEND,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    assert process.returncode != 0, process.stdout + process.stderr
    return process.stdout + process.stderr


PRODUCTION_FLAWS: dict[str, tuple[dict[str, str], str]] = {
    "the example JWT_SECRET": ({"JWT_SECRET": EXAMPLE_JWT_SECRET}, "JWT_SECRET is an example"),
    "an empty JWT_SECRET": ({"JWT_SECRET": ""}, "JWT_SECRET is unset"),
    "a short JWT_SECRET": ({"JWT_SECRET": "short-but-not-empty"}, "JWT_SECRET is shorter"),
    "no ROUTERX_SECRET_KEY": ({"ROUTERX_SECRET_KEY": ""}, "ROUTERX_SECRET_KEY is unset"),
    "no internal token": ({"ROUTERX_INTERNAL_TOKEN": ""}, "ROUTERX_INTERNAL_TOKEN is unset"),
    "the demo key active": ({}, DEMO_KEY),
}


@pytest.mark.parametrize("command", ["gateway", "admin"])
@pytest.mark.parametrize("flaw", list(PRODUCTION_FLAWS))
async def test_every_service_refuses_production_with_known_credentials(
    seeded_database: str, command: str, flaw: str
) -> None:
    change, named = PRODUCTION_FLAWS[flaw]
    env = base_env(seeded_database, ROUTERX_ENV="production", **strong())
    env.update(change)
    assert named in refused_start(command, env)


async def test_the_gateway_refuses_an_admin_on_the_seeded_password_and_starts_without(
    seeded_database: str,
) -> None:
    async with connected(seeded_database):
        await ApiKey.filter(digest=digest_key(DEMO_KEY)).update(status="revoked")
    try:
        env = base_env(seeded_database, ROUTERX_ENV="production", **strong())
        assert "admin123" in refused_start("gateway", env)
        async with connected(seeded_database):
            seeded = await AdminUser.get(username="admin")
            original = seeded.password_hash
            await AdminUser.filter(id=seeded.id).update(
                password_hash=hash_password("a-real-password-" + secrets.token_hex(4))
            )
        try:
            server = ServerProcess("gateway", env, free_port())
            server.start()
            try:
                await server.wait_ready()
            finally:
                server.stop()
        finally:
            async with connected(seeded_database):
                await AdminUser.filter(id=seeded.id).update(password_hash=original)
    finally:
        async with connected(seeded_database):
            await ApiKey.filter(digest=digest_key(DEMO_KEY)).update(status="active")


def k8s_environment() -> dict[str, str]:
    env: dict[str, str] = {}
    for name in ("configmap.yaml", "secret.yaml"):
        document = yaml.safe_load((K8S / name).read_text())
        env.update({k: str(v) for k, v in (document.get("data") or {}).items()})
        env.update({k: str(v) for k, v in (document.get("stringData") or {}).items()})
    return env


def test_the_kubernetes_templates_cannot_pass_the_guard_unedited() -> None:
    env = k8s_environment()
    assert env["ROUTERX_ENV"] == "production"
    with mock.patch.dict(os.environ, env, clear=True):
        settings = load_settings(env_file=None)
    assert settings.gateway_host == settings.admin_host == "0.0.0.0"  # inside the cluster
    with pytest.raises(ProductionConfigError, match="JWT_SECRET is unset"):
        check_secrets(settings)
    # Filling in only the documented JWT_SECRET is not enough either.
    with pytest.raises(ProductionConfigError, match="ROUTERX_SECRET_KEY is unset"):
        check_secrets(replace(settings, jwt_secret=secrets.token_hex(32)))


def test_the_compose_defaults_cannot_pass_the_guard_in_production() -> None:
    compose = yaml.safe_load((REPO / "deploy" / "docker-compose.yml").read_text())
    raw = compose["x-backend"]["environment"]

    def default(value: object) -> str:
        text = str(value)
        if text.startswith("${") and ":-" in text:
            return text.split(":-", 1)[1].rstrip("}")
        return text

    env = {name: default(value) for name, value in raw.items()}
    env["ROUTERX_ENV"] = "production"
    with mock.patch.dict(os.environ, env, clear=True):
        settings = load_settings(env_file=None)
    with pytest.raises(ProductionConfigError, match="example"):
        check_secrets(settings)
    ports = [port for service in compose["services"].values() for port in service.get("ports", [])]
    assert ports and all(str(port).startswith("127.0.0.1:") for port in ports)
    assert all("8090" not in str(port) for port in ports)  # the internal listener stays inside


def test_the_default_settings_are_loopback() -> None:
    with mock.patch.dict(os.environ, {}, clear=True):
        settings = load_settings(env_file=None)
    assert settings.gateway_host == settings.admin_host == settings.internal_host == "127.0.0.1"
    assert settings.internal_token == ""


def test_host_opens_every_listener_and_per_service_hosts_win() -> None:
    env = {"HOST": "0.0.0.0", "ADMIN_HOST": "127.0.0.1", "INTERNAL_PORT": "8090"}
    with mock.patch.dict(os.environ, env, clear=True):
        settings = load_settings(env_file=None)
    assert settings.gateway_host == settings.internal_host == "0.0.0.0"
    assert settings.admin_host == "127.0.0.1"
    assert settings.internal_port == 8090
    with (
        mock.patch.dict(os.environ, {"SESSION_COOKIE_SECURE": "sometimes"}, clear=True),
        pytest.raises(SettingsError, match="SESSION_COOKIE_SECURE"),
    ):
        load_settings(env_file=None)
