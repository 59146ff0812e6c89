"""scripts/loadtest.py against real gateway processes (SQLite, the seed's mock providers)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from routerx.storage.config_version import bump_config_version
from routerx.storage.models import Provider, RoutingRule, Tenant
from scripts import loadtest
from tests.scripts.conftest import REPO
from tests.support.database import connected, prepare
from tests.support.processes import ServerProcess, base_env, free_port, start_server

SCRIPT = REPO / "scripts" / "loadtest.py"
DEMO_MODEL = "gpt-4.1-mini"
FALLBACK_MODEL = "fallback-model"


async def _add_failing_route(database_url: str) -> None:
    """`fallback-model`: a primary that always answers 503, then the seed's backup provider."""
    async with connected(database_url):
        await Provider.create(
            name="always-503",
            type="mock",
            capabilities=["text"],
            settings={"mock": {"error_status": 503}},
        )
        await RoutingRule.create(
            name="fallback",
            model_pattern=FALLBACK_MODEL,
            capability="text",
            targets=[
                {"provider": "always-503", "model": FALLBACK_MODEL, "weight": 1, "tier": 0},
                {"provider": "mock-text-backup", "model": FALLBACK_MODEL, "weight": 1, "tier": 1},
            ],
        )
        await Tenant.filter(name="demo").update(allowed_models=[DEMO_MODEL, FALLBACK_MODEL])
        await bump_config_version()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def gateway(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ServerProcess]:
    url = f"sqlite://{tmp_path_factory.mktemp('loadtest') / 'routerx.sqlite3'}"
    await prepare(url)
    await _add_failing_route(url)
    server = await start_server("gateway", base_env(url))
    try:
        yield server
    finally:
        server.stop()


async def run_loadtest(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SCRIPT),
        "--no-progress",
        *args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def run_in_thread(*args: str) -> int:
    """loadtest.main in a thread with its own event loop: no interpreter start-up to wait for."""
    return await asyncio.to_thread(loadtest.main, ["--no-progress", *args])


def read_report(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())  # type: ignore[no-any-return]


async def test_short_run_summary_and_json_report(gateway: ServerProcess, tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    code, out, err = await run_loadtest(
        "--url", gateway.url, "-c", "4", "-d", "2", "--json", str(report_path)
    )
    assert code == 0, out + err
    report = read_report(report_path)
    assert report["concurrency"] == 4
    assert 2.0 <= report["duration_s"] < 5.0
    assert report["requests"] > 20
    assert report["failed"] == 0
    assert report["error_rate"] == 0
    assert report["passed"] is True
    assert report["statuses"] == {"200": report["requests"]}
    assert all(report["mix"][kind] > 0 for kind in ("text", "stream", "vision"))
    assert sum(report["mix"].values()) == report["requests"]
    assert report["requests_per_s"] == pytest.approx(
        report["requests"] / report["duration_s"], rel=0.01
    )
    latency, ttft = report["latency_ms"], report["ttft_ms"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"]
    assert 0 < ttft["p50"] <= ttft["p99"]
    assert report["fallback_rate"] == 0
    assert set(report["providers"]) == {"mock-text", "mock-vision"}
    assert report["providers"]["mock-vision"] == report["mix"]["vision"]
    for label in ("requests/s", "latency p50/p95/p99", "stream TTFT", "fallback rate", "PASS"):
        assert label in out


async def test_unknown_model_fails_the_run(
    gateway: ServerProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report_path = tmp_path / "report.json"
    code = await run_in_thread(
        "--url", gateway.url, "--model", "no-such-model", "-c", "2", "-n", "12",
        "--json", str(report_path),
    )  # fmt: skip
    assert code == 1
    report = read_report(report_path)
    assert report["requests"] == 12
    assert report["statuses"] == {"404": 12}
    assert report["errors"] == {"http_404": 12}
    assert report["error_rate"] == 1.0
    assert report["passed"] is False
    assert "FAIL" in capsys.readouterr().out


async def test_error_rate_under_the_threshold_passes(gateway: ServerProcess) -> None:
    code = await run_in_thread(
        "--url", gateway.url, "--model", "no-such-model", "-n", "4", "--max-error-rate", "1"
    )
    assert code == 0


async def test_fallbacks_are_counted(gateway: ServerProcess, tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    code = await run_in_thread(
        "--url", gateway.url, "--model", FALLBACK_MODEL, "-c", "2", "-n", "20",
        "--vision-ratio", "0",
        "--json", str(report_path),
    )  # fmt: skip
    assert code == 0
    report = read_report(report_path)
    assert report["failed"] == 0
    assert report["providers"] == {"mock-text-backup": 20}
    assert report["fallback_rate"] == 1.0


async def test_a_gateway_that_is_not_there(capsys: pytest.CaptureFixture[str]) -> None:
    code = await run_in_thread("--url", f"http://127.0.0.1:{free_port()}", "--wait-ready", "0.3")
    assert code == 2
    assert "not ready" in capsys.readouterr().err


def test_stream_check() -> None:
    whole = loadtest.StreamCheck()
    whole.feed(b'data: {"choices":[]}\n\ndata: [DO')
    whole.feed(b"NE]\n\n")
    assert whole.verdict() is None
    assert whole.first_at is not None

    cut = loadtest.StreamCheck()
    cut.feed(b'data: {"choices":[]}\n\n')
    assert cut.verdict() == "stream_without_done"

    broken = loadtest.StreamCheck()
    broken.feed(b'data: {"choices":[]}\n\ndata: {"err')
    broken.feed(b'or":{"message":"x"}}\n\ndata: [DONE]\n\n')
    assert broken.verdict() == "stream_error_event"


def test_fallback_from_headers() -> None:
    assert loadtest.is_fallback("a;failure;503,b;success", "b")
    assert not loadtest.is_fallback("a;failure;503,a;success", "a")
    assert not loadtest.is_fallback(None, "a")


def test_percentile_and_summary() -> None:
    assert loadtest.percentile([], 50) is None
    values = [float(v) for v in range(1, 101)]
    assert loadtest.percentile(values, 50) == 50.0
    assert loadtest.percentile(values, 99) == 99.0
    tally = loadtest.Tally()
    for index in range(99):
        tally.add(loadtest.Outcome("text", float(index), 200, provider="p"))
    tally.add(loadtest.Outcome("stream", 5.0, 200, "stream_without_done"))
    options = loadtest.Options(max_error_rate=0.01)
    summary = loadtest.summarize(tally, 2.0, options)
    assert summary["requests_per_s"] == 50.0
    assert summary["error_rate"] == 0.01
    assert summary["passed"] is True
    assert summary["errors"] == {"stream_without_done": 1}
    assert not loadtest.summarize(tally, 2.0, loadtest.Options(max_error_rate=0.005))["passed"]


def test_arguments_are_checked() -> None:
    with pytest.raises(SystemExit):
        loadtest.parse_args(["--stream-ratio", "0.8", "--vision-ratio", "0.5"])
    options = loadtest.parse_args(["-c", "3", "-n", "10", "--json", "x.json"])
    assert (options.concurrency, options.requests, options.json_path) == (3, 10, Path("x.json"))
    assert (options.key, options.model) == ("demo_key_fake_123456", "gpt-4.1-mini")
