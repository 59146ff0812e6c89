"""scripts/bench/instructions.py: instruction counts per request under callgrind, for real on the
C mock upstream (fast under valgrind), and the report's arithmetic."""

from __future__ import annotations

import argparse
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from scripts.bench import install, instructions
from scripts.bench.instructions import Callgrind, Count, Surface
from scripts.bench.processes import start

from tests.support.processes import free_port

CHAT = Surface("chat", "/v1/chat/completions", {"model": "m", "messages": []}, {})


def _wait_until_serving(port: int, deadline_s: float = 60.0) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.1)  # polling a server that is starting, with a deadline
    raise TimeoutError("the mock did not come up under valgrind")


def test_a_window_counts_only_the_requests_sent_inside_it(tmp_path: Path) -> None:
    install.ensure_valgrind()
    binary = tmp_path / "mock_upstream"
    subprocess.run(["gcc", "-O2", "-o", str(binary), str(install.MOCK_SOURCE)], check=True)
    port = free_port()
    grind = Callgrind(tmp_path, "mock")
    service = start("mock", [*grind.prefix(), str(binary), str(port)], tmp_path)
    try:
        _wait_until_serving(port)
        instructions.send_requests(port, CHAT, 5)  # outside any window: not counted
        idle, _ = grind.window(service.pid, "idle", lambda: time.sleep(0.2))
        few, _ = grind.window(
            service.pid, "few", lambda: instructions.send_requests(port, CHAT, 10)
        )
        many, _ = grind.window(
            service.pid, "many", lambda: instructions.send_requests(port, CHAT, 40)
        )
    finally:
        service.stop()

    assert idle < few < many  # an epoll server does nothing while idle
    # Each window holds its own requests only: four times the requests, roughly four times the
    # instructions (how the mock's reads batch varies a little from run to run).
    assert 2.5 < many / few < 6.0, (idle, few, many)


def test_net_count_subtracts_the_idle_rate_and_never_goes_negative() -> None:
    count = Count("routerx", "chat", 100, 3_000_000, 2.0, idle_per_s=500_000)
    assert count.per_request == 30_000
    assert count.net_per_request == 20_000
    assert Count("x", "chat", 10, 100, 5.0, idle_per_s=1_000).net_per_request == 0.0


def test_report_gives_medians_and_each_surface_its_ratio_to_the_floors_matching_mode() -> None:
    counts = [
        Count("floor", "chat", 10, 1_000_000, 1.0, 0.0),
        Count("floor", "chat-stream", 10, 2_000_000, 1.0, 0.0),
        Count("routerx", "chat", 10, 1_500_000, 1.0, 0.0),
        Count("routerx", "chat", 10, 1_400_000, 1.0, 0.0),
        Count("routerx", "chat", 10, 9_000_000, 1.0, 0.0),  # one noisy round
        Count("routerx", "chat-stream", 10, 3_000_000, 1.0, 0.0),
        Count("routerx", "messages", 10, 2_000_000, 1.0, 0.0),
    ]
    plan = argparse.Namespace(reps=3, requests=10, source=None)
    text = instructions.render(counts, plan)
    assert "| routerx | chat | 150,000 | 150,000 | 140,000-900,000 | 1.50x |" in text
    assert "| routerx | chat-stream | 300,000 | 300,000 | 300,000-300,000 | 1.50x |" in text
    assert "| routerx | messages | 200,000 | 200,000 | 200,000-200,000 | 2.00x |" in text


def test_a_missing_dump_is_an_error_not_a_zero(tmp_path: Path) -> None:
    grind = Callgrind(tmp_path, "nothing")
    (tmp_path / "nothing.1.out").write_text("desc: Trigger: dump other\ntotals: 5\n")
    with pytest.raises(TimeoutError):
        grind.wait_for_dump(1, "wanted", timeout_s=0.5)
