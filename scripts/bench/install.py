"""Install what the benchmark needs when it is missing: wrk (Debian), LiteLLM (its own venv),
the C mock upstream (gcc), PostgreSQL and Redis (scripts/ensure_services.sh)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BENCH_DIR = REPO / ".bench"
LITELLM_VENV = BENCH_DIR / "litellm-venv"
LITELLM_REQUIREMENT = "litellm[proxy]==1.108.7"
MOCK_SOURCE = Path(__file__).resolve().parent / "mock_upstream.c"
MOCK_BINARY = BENCH_DIR / "mock_upstream"
SYSTEM_PYTHON = "/usr/bin/python3"


def _run(argv: list[str], **env: str) -> None:
    print("+ " + " ".join(argv), file=sys.stderr, flush=True)
    subprocess.run(argv, check=True, env={**os.environ, **env})  # noqa: S603


def ensure_apt_tool(command: str, package: str) -> str:
    found = shutil.which(command)
    if found:
        return found
    _run(["apt-get", "update", "-qq"])
    _run(["apt-get", "install", "-y", "-qq", package], DEBIAN_FRONTEND="noninteractive")
    found = shutil.which(command)
    if not found:
        raise RuntimeError(f"{command} is still missing after apt-get install {package}")
    return found


def ensure_wrk() -> str:
    return ensure_apt_tool("wrk", "wrk")


def ensure_valgrind() -> str:
    return ensure_apt_tool("callgrind_control", "valgrind")


def _litellm_installed(python: Path) -> bool:
    if not python.exists():
        return False
    probe = subprocess.run(  # noqa: S603
        [str(python), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
        capture_output=True,
        text=True,
        check=False,
    )
    return probe.returncode == 0 and probe.stdout.strip() == LITELLM_REQUIREMENT.split("==")[1]


def ensure_litellm() -> Path:
    """The `litellm` command of a venv of its own (its dependencies are not RouterX's)."""
    python = LITELLM_VENV / "bin" / "python"
    if not _litellm_installed(python):
        BENCH_DIR.mkdir(exist_ok=True)
        base = SYSTEM_PYTHON if Path(SYSTEM_PYTHON).exists() else sys.executable
        uv = Path(sys.executable).parent / "uv"
        if uv.exists():
            _run([str(uv), "venv", "-q", "--allow-existing", "-p", base, str(LITELLM_VENV)])
            _run([str(uv), "pip", "install", "-q", "-p", str(python), LITELLM_REQUIREMENT])
        else:
            _run([base, "-m", "venv", str(LITELLM_VENV)])
            _run([str(python), "-m", "pip", "install", "-q", LITELLM_REQUIREMENT])
    return LITELLM_VENV / "bin" / "litellm"


def build_mock() -> Path:
    BENCH_DIR.mkdir(exist_ok=True)
    if not MOCK_BINARY.exists() or MOCK_BINARY.stat().st_mtime < MOCK_SOURCE.stat().st_mtime:
        _run(["gcc", "-O2", "-Wall", "-o", str(MOCK_BINARY), str(MOCK_SOURCE)])
    return MOCK_BINARY


def ensure_services() -> None:
    _run(["bash", str(REPO / "scripts" / "ensure_services.sh")])
