"""scripts/bench: wrk output, /proc accounting, aggregation, profile grouping, the C mock."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from scripts.bench import hotpath_profile, procstat, report, wrk
from scripts.bench.install import MOCK_SOURCE

from tests.support.processes import free_port

WRK_OUTPUT = """Running 10s test @ http://127.0.0.1:8080/v1/chat/completions
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.10ms    1.02ms  31.20ms   90.00%
  52000 requests in 10.00s, 20.00MB read
Requests/sec:   5199.80
Transfer/sec:      2.00MB
BENCH_RESULT requests=52000 duration_us=10000500 p50_us=1950 p90_us=3100 p99_us=7450 \
max_us=31200 bad_status=3 bad_body=2 connect=0 read=1 write=0 timeout=4 status=3
"""


def test_wrk_result_line_is_parsed() -> None:
    result = wrk.parse_output(WRK_OUTPUT.replace("\\\n", ""))
    assert result.requests == 52000
    assert result.duration_s == pytest.approx(10.0005)
    assert result.requests_per_s == pytest.approx(5199.74, rel=1e-4)
    assert (result.p50_ms, result.p90_ms, result.p99_ms) == (1.95, 3.1, 7.45)
    assert result.max_ms == 31.2
    assert (result.bad_status, result.bad_body, result.socket_errors) == (3, 2, 5)
    assert result.errors == 10


def test_wrk_output_without_a_result_line() -> None:
    with pytest.raises(wrk.WrkError, match="no BENCH_RESULT"):
        wrk.parse_output("unable to connect to 127.0.0.1:1 Connection refused")


def test_wrk_command() -> None:
    argv = wrk.command("http://h/v1/chat/completions", 1, 10, "m", True, "k")
    assert argv[:5] == ["wrk", "-t1", "-c1", "-d10s", "--timeout=10s"]
    assert argv[-5:] == ["http://h/v1/chat/completions", "--", "m", "stream", "k"]
    assert wrk.command("u", 64, 2.6, "m", False)[1:4] == ["-t2", "-c64", "-d3s"]
    assert wrk.command("u", 4, 0.2, "m", False)[3] == "-d1s"


def _stat(pid: int, ppid: int, comm: str, utime: int, stime: int, cu: int = 0, cs: int = 0) -> str:
    fields = ["S", str(ppid), *["0"] * 9, str(utime), str(stime), str(cu), str(cs), *["0"] * 30]
    return f"{pid} ({comm}) " + " ".join(fields) + "\n"


def test_stat_line_with_an_awkward_command_name() -> None:
    stat = procstat.parse_stat(_stat(42, 7, "a) (b c", 100, 20, 3, 4))
    assert (stat.pid, stat.ppid, stat.utime, stat.stime, stat.cutime, stat.cstime) == (
        42, 7, 100, 20, 3, 4,
    )  # fmt: skip
    assert stat.ticks == 127


@pytest.fixture
def fake_proc(tmp_path: Path) -> Path:
    """A server (10) with two workers (11, 12) and a grandchild (13); 20 is someone else."""
    processes = {
        10: (1, "routerx", 100, 10, 5, 5),
        11: (10, "python", 300, 30, 0, 0),
        12: (10, "python", 200, 20, 0, 0),
        13: (11, "python", 1, 1, 0, 0),
        20: (1, "other", 999, 999, 0, 0),
    }
    for pid, (ppid, comm, utime, stime, cu, cs) in processes.items():
        folder = tmp_path / str(pid)
        folder.mkdir()
        (folder / "stat").write_text(_stat(pid, ppid, comm, utime, stime, cu, cs))
        (folder / "statm").write_text(f"5000 {pid * 100} 300 1 0 400 0\n")
    (tmp_path / "self").mkdir()
    return tmp_path


def test_cpu_of_a_process_tree(fake_proc: Path) -> None:
    stats = procstat.all_stats(fake_proc)
    assert sorted(stat.pid for stat in procstat.tree(10, stats)) == [10, 11, 12, 13]
    ticks = 100 + 10 + 5 + 5 + 300 + 30 + 200 + 20 + 1 + 1
    assert procstat.cpu_seconds([10], fake_proc) == ticks / procstat.CLOCK_TICKS
    assert procstat.cpu_seconds([12], fake_proc) == 220 / procstat.CLOCK_TICKS
    assert procstat.cpu_seconds([99], fake_proc) == 0


def test_rss_of_a_process_tree(fake_proc: Path) -> None:
    pages = (10 + 11 + 12 + 13) * 100
    assert procstat.rss_bytes([10], fake_proc) == pages * procstat.PAGE_SIZE
    assert procstat.parse_statm_rss("1 2 3") == 2 * procstat.PAGE_SIZE


def test_peak_sampler_keeps_the_largest_reading() -> None:
    readings = iter([5, 9, 3])
    with procstat.PeakSampler(lambda: next(readings, 1), interval_s=0.001) as sampler:
        while sampler.peak < 9:
            pass
    assert sampler.peak == 9


def _sample(
    target: str, mode: str, conns: int, rep: int, rps: float, **extra: float
) -> report.Sample:
    values: dict[str, float] = {"p50_ms": 1.0, "p99_ms": 2.0, "cpu_s": 1.0, "rss": 100 * 2**20}
    values.update(extra)
    return report.Sample(
        target=target,
        mode=mode,
        connections=conns,
        rep=rep,
        requests=int(rps * 10),
        requests_per_s=rps,
        p50_ms=values["p50_ms"],
        p99_ms=values["p99_ms"],
        errors=0,
        cpu_s=values["cpu_s"],
        peak_rss_bytes=int(values["rss"]),
    )


def test_medians_ratios_and_goals() -> None:
    samples = [
        _sample("direct", "json", 1, 1, 10000, p50_ms=0.1),
        _sample("routerx", "json", 1, 1, 1000, p50_ms=0.5, cpu_s=2.0),
        _sample("routerx", "json", 1, 2, 3000, p50_ms=0.7, cpu_s=6.0),
        _sample("routerx", "json", 1, 3, 2000, p50_ms=0.6, cpu_s=1.0, rss=150 * 2**20),
        _sample("litellm", "json", 1, 1, 100, p50_ms=8.0, rss=900 * 2**20),
        _sample("routerx", "json", 16, 1, 5000),
        _sample("litellm", "json", 16, 1, 250),
    ]
    cells = report.aggregate(samples)
    routerx = cells[("routerx", "json", 1)]
    assert routerx.reps == 3
    assert routerx.requests_per_s == 2000
    assert routerx.p50_ms == 0.6
    assert routerx.cpu_ms_per_request == pytest.approx(0.2)  # median of 0.2, 0.2, 0.05
    assert report.peak_rss_mb(samples) == {"direct": 100, "routerx": 150, "litellm": 900}
    goals = {goal.name: goal for goal in report.goals(cells, report.peak_rss_mb(samples))}
    assert goals["RPS >= 10x LiteLLM, non-stream, 16 conns"].met is True
    assert goals["RPS >= 10x LiteLLM, non-stream, 64 conns"].met is None
    added = goals["added p50 <= 1 ms, non-stream, 1 conn"]
    assert (added.measured, added.met) == ("0.50 ms", True)
    assert goals["peak RSS <= 1/3 of LiteLLM's"].met is True
    text = report.render(samples, ["note"], [1, 16], ["direct", "routerx", "litellm"])
    assert "| routerx | non-stream | 1 | 2,000 | 0.60 | 2.00 | 0.50 | 0.200 | 0 |" in text
    assert "| non-stream | 16 | 20.0x |" in text


def test_profile_samples_are_charged_to_components() -> None:
    lines = [
        "run (asyncio/runners.py:118);_run (hypercorn/asyncio/run.py:233) 40",
        "run (asyncio/runners.py:118);protocol_send (hypercorn/asyncio/tcp_server.py:90) 30",
        "run (asyncio/runners.py:118);__call__ (routerx/gateway/chat.py:96);"
        "post (aiohttp/client.py:500);search (re/__init__.py:176) 20",
        "run (asyncio/runners.py:118);__call__ (routerx/gateway/chat.py:96);uuid4 (uuid.py:720) 10",
        "",
        "garbage",
    ]
    stacks = hotpath_profile.parse_collapsed(lines)
    assert sum(stacks.values()) == 100
    shares = hotpath_profile.breakdown(stacks)
    assert shares == {
        hotpath_profile.EVENT_LOOP: 40,
        "hypercorn (protocol, ASGI glue)": 30,
        "aiohttp client (with yarl, multidict)": 20,
        "RouterX chat handler (gateway/)": 10,
    }
    top = hotpath_profile.top_functions(stacks, 2)
    assert top[0] == ("_run (hypercorn/asyncio/run.py)", 40)
    frame = hotpath_profile.parse_frame("<module> (routerx)")
    assert frame == hotpath_profile.Frame("<module>", "routerx")


@pytest.fixture
def mock_upstream(tmp_path: Path) -> Iterator[str]:
    binary = tmp_path / "mock_upstream"
    subprocess.run(["gcc", "-O2", "-o", str(binary), str(MOCK_SOURCE)], check=True)
    port = free_port()
    process = subprocess.Popen([str(binary), str(port)], stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None
        process.stdout.readline()  # "listening on ...": it accepts connections from now on
        yield f"http://127.0.0.1:{port}"
    finally:
        process.kill()
        process.wait()


async def test_mock_upstream_answers_json_and_streams(mock_upstream: str) -> None:
    url = mock_upstream + "/v1/chat/completions"
    async with aiohttp.ClientSession() as session:
        for _ in range(2):  # the same keep-alive connection twice
            async with session.post(url, json={"model": "m", "messages": []}) as response:
                assert response.headers["content-type"] == "application/json"
                body = await response.json()
                assert body["choices"][0]["finish_reason"] == "stop"
                assert body["usage"]["total_tokens"] == 26
            async with session.post(url, data=b'{"model":"m", "stream" : true}') as response:
                assert response.headers["content-type"] == "text/event-stream"
                text = await response.text()
        events = [line for line in text.split("\n\n") if line]
        assert len(events) == 17  # 16 chunks and [DONE]
        assert events[-1] == "data: [DONE]"
        assert '"finish_reason":"stop"' in events[-3]
        assert '"choices":[],"usage"' in events[-2]


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is installed by `make bench`")
async def test_lua_script_passes_good_answers(mock_upstream: str) -> None:
    url = mock_upstream + "/v1/chat/completions"
    for stream in (False, True):
        argv = wrk.command(url, 2, 1, "bench-model", stream)
        result = await asyncio.to_thread(wrk.run, argv)
        assert result.requests > 10
        assert result.errors == 0
