"""scripts/soak.py, briefly: it starts its own gateway, injects the faults, drives the mixed load,
counts the rows and reports; the real soak (10 minutes) is run by hand, not in CI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scripts import soak

SCRIPT = Path(soak.__file__)


def test_a_short_soak_passes_and_reports_every_figure(tmp_path: Path) -> None:
    report_path = tmp_path / "soak.json"
    result = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            *("--duration", "2", "--warmup", "1", "--rps", "20"),
            *("--failure-rate", "0.5", "--max-rss-growth", "1.0"),  # 2 s says nothing on memory
            *("--json", str(report_path), "--quiet"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    report = json.loads(report_path.read_text())
    assert report["failures"] == []
    assert report["client_errors"] == 0
    assert report["requests_total"] == report["log_rows"] > 30
    assert report["fallbacks"] > 0
    assert set(report["by_kind"]) == {"text", "stream", "vision"}
    assert report["providers"]["mock-text-backup"] > 0
    assert report["rss_start_kb"] > 0 and report["fds_start"] > 0


@pytest.mark.parametrize("url", ["http://10.0.0.1:8080", "https://127.0.0.1:8080", "http://x"])
def test_only_a_local_gateway_is_a_target(url: str) -> None:
    with pytest.raises(SystemExit):
        soak.check_local(url)
    assert soak.check_local("http://localhost:8080/") == "http://127.0.0.1:8080"
