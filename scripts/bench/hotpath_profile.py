"""Profile RouterX's hot path under load: py-spy samples every gateway process while wrk drives
the same production setup as `make bench`, and the samples are grouped by who spent the CPU.

Run: backend/.venv/bin/python -m scripts.bench.hotpath_profile [--mode json|stream] [--duration S]
Writes scripts/bench/results/profile-<mode>.md; the raw collapsed stacks go to .bench/profile/.

A sample is charged to the innermost frame that belongs to a known component (hypercorn,
Starlette, RouterX's handler, aiohttp, ...); standard-library frames are charged to their caller,
and a sample with only event-loop frames is uvloop's own C code (polling, socket reads and
writes, callbacks). Idle time is not sampled, so the shares are shares of CPU time.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from . import install, procstat, targets, wrk
from .processes import Services, sigterm_as_interrupt
from .targets import MODEL

RESULTS = Path(__file__).resolve().parent / "results"
RAW_DIR = install.BENCH_DIR / "profile"
TOOLS_VENV = install.BENCH_DIR / "tools-venv"
PY_SPY_REQUIREMENT = "py-spy==0.4.1"
SAMPLE_RATE = 250

# (component, path fragments): the first component whose fragment is in a frame's file wins.
COMPONENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("request log (writer, Tortoise, asyncpg)", ("storage/log_writer", "tortoise/", "asyncpg/")),
    ("metrics (prometheus_client)", ("prometheus_client/", "routerx/telemetry/")),
    ("Redis (shared breaker state)", ("redis/", "routerx/routing/shared/")),
    ("RouterX chat handler (gateway/)", ("routerx/gateway/",)),
    ("RouterX routing, fallback, breakers", ("routerx/routing/",)),
    ("RouterX provider adapter (openai_compat, http)", ("routerx/providers/",)),
    ("RouterX other", ("routerx/",)),
    ("aiohttp client (with yarl, multidict)", ("aiohttp/", "yarl/", "multidict/")),
    ("Starlette routing", ("starlette/",)),
    ("hypercorn HTTP/1.1 (h11 parser)", ("h11/",)),
    ("hypercorn (protocol, ASGI glue)", ("hypercorn/",)),
    ("OpenTelemetry", ("opentelemetry/",)),
    ("msgspec (Python side)", ("msgspec/",)),
)
# Frames that only start the server and run the loop: a sample charged to them is loop time.
ENTRY_FILES = ("hypercorn/asyncio/run.py", "hypercorn/run.py", "routerx/cli.py")
EVENT_LOOP = "event loop (uvloop C code: polling, socket I/O, callbacks)"
OTHER = "other"


@dataclass(frozen=True, slots=True)
class Frame:
    function: str
    file: str


def parse_frame(text: str) -> Frame:
    """`function (path/file.py:line)` or `function (path/file.py)` as py-spy prints frames."""
    function, _, rest = text.rpartition(" (")
    if not function:
        return Frame(text, "")
    location = rest.rstrip(")")
    file = location.rsplit(":", 1)[0] if location.rsplit(":", 1)[-1].isdigit() else location
    return Frame(function, file)


def parse_collapsed(lines: Iterable[str]) -> Counter[tuple[Frame, ...]]:
    """py-spy's raw (collapsed) format: `root;...;leaf COUNT` per line."""
    stacks: Counter[tuple[Frame, ...]] = Counter()
    for raw in lines:
        line = raw.rstrip("\n")
        if not line:
            continue
        stack_text, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = tuple(parse_frame(part) for part in stack_text.split(";") if part)
        stacks[frames] += int(count)
    return stacks


def component_of(file: str) -> str | None:
    if file.endswith(ENTRY_FILES) or file == "routerx":
        return None
    for name, fragments in COMPONENTS:
        if any(fragment in file for fragment in fragments):
            return name
    return None


def charge(stack: tuple[Frame, ...]) -> str:
    """The component that spent a sample: innermost known frame, else the event loop."""
    for frame in reversed(stack):
        component = component_of(frame.file)
        if component is not None:
            return component
    if any("asyncio/" in frame.file or "uvloop" in frame.file for frame in stack):
        return EVENT_LOOP
    return OTHER


def breakdown(stacks: Counter[tuple[Frame, ...]]) -> Counter[str]:
    shares: Counter[str] = Counter()
    for stack, count in stacks.items():
        shares[charge(stack)] += count
    return shares


def top_functions(stacks: Counter[tuple[Frame, ...]], limit: int = 25) -> list[tuple[str, int]]:
    """Self samples by the innermost non-standard-library frame (`function (file)`)."""
    functions: Counter[str] = Counter()
    for stack, count in stacks.items():
        chosen = next(
            (f for f in reversed(stack) if component_of(f.file) is not None),
            stack[-1] if stack else Frame("?", "?"),
        )
        functions[f"{chosen.function} ({chosen.file})"] += count
    return functions.most_common(limit)


def ensure_py_spy() -> Path:
    binary = TOOLS_VENV / "bin" / "py-spy"
    if not binary.exists():
        uv = Path(sys.executable).parent / "uv"
        python = TOOLS_VENV / "bin" / "python"
        if uv.exists():
            subprocess.run([str(uv), "venv", "-q", str(TOOLS_VENV)], check=True)  # noqa: S603
            subprocess.run(  # noqa: S603
                [str(uv), "pip", "install", "-q", "-p", str(python), PY_SPY_REQUIREMENT],
                check=True,
            )
        else:
            subprocess.run([sys.executable, "-m", "venv", str(TOOLS_VENV)], check=True)  # noqa: S603
            subprocess.run(  # noqa: S603
                [str(python), "-m", "pip", "install", "-q", PY_SPY_REQUIREMENT], check=True
            )
    return binary


def render(
    shares: Counter[str],
    functions: list[tuple[str, int]],
    cpu_ms_per_request: float,
    result: wrk.WrkResult,
    mode: str,
    connections: int,
) -> str:
    total = sum(shares.values()) or 1
    lines = [
        f"# RouterX hot-path profile: {mode}, {connections} connections",
        "",
        f"wrk: {result.requests_per_s:,.0f} req/s, p50 {result.p50_ms:.2f} ms, "
        f"{result.errors} errors. Gateway CPU: {cpu_ms_per_request:.3f} ms per request "
        f"(all processes, /proc). py-spy at {SAMPLE_RATE} Hz on every gateway process, "
        f"{total:,} CPU samples.",
        "",
        "Time in C under a Python frame is charged to that frame: `protocol_send` (hypercorn)",
        "and `_writelines` (aiohttp) carry the socket write system calls.",
        "",
        "| component | share of gateway CPU | ms per request |",
        "|---|---:|---:|",
    ]
    for name, count in shares.most_common():
        share = count / total
        lines.append(f"| {name} | {share * 100:.1f} % | {share * cpu_ms_per_request:.3f} |")
    lines += [
        "",
        "Top functions by self samples (innermost non-stdlib frame):",
        "",
        "| function | share |",
        "|---|---:|",
    ]
    lines += [f"| `{name}` | {count / total * 100:.1f} % |" for name, count in functions]
    return "\n".join(lines) + "\n"


def profile(mode: str, connections: int, duration_s: float, database: str, raw_dir: Path) -> str:
    py_spy = ensure_py_spy()
    install.ensure_wrk()
    if database == "postgres":
        install.ensure_services()
    services = Services()
    try:
        direct = targets.start_mock(install.build_mock(), services)
        routerx = targets.start_routerx(database, direct, services)
        warmup = wrk.command(routerx.url, 16, 3, MODEL, mode == "stream", routerx.api_key)
        wrk.run(warmup)
        pids = [stat.pid for stat in procstat.tree(routerx.pid, procstat.all_stats())]
        raw_dir.mkdir(parents=True, exist_ok=True)
        raw_paths = [raw_dir / f"{mode}-{pid}.txt" for pid in pids]
        recorders = [
            subprocess.Popen(  # noqa: S603
                [
                    str(py_spy),
                    "record",
                    "--pid",
                    str(pid),
                    "--rate",
                    str(SAMPLE_RATE),
                    "--duration",
                    str(int(duration_s)),
                    "--format",
                    "raw",
                    "--nonblocking",
                    "--output",
                    str(path),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for pid, path in zip(pids, raw_paths, strict=True)
        ]
        before = procstat.cpu_seconds([routerx.pid])
        result = wrk.run(
            wrk.command(
                routerx.url, connections, duration_s, MODEL, mode == "stream", routerx.api_key
            )
        )
        cpu_s = procstat.cpu_seconds([routerx.pid]) - before
        for recorder in recorders:
            recorder.wait()
    finally:
        services.stop_all()
        targets.drop_database(database)
    stacks: Counter[tuple[Frame, ...]] = Counter()
    for path in raw_paths:
        if path.exists():
            stacks.update(parse_collapsed(path.read_text().splitlines()))
    cpu_ms = cpu_s * 1000 / result.requests if result.requests else 0.0
    return render(breakdown(stacks), top_functions(stacks), cpu_ms, result, mode, connections)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hotpath_profile", description=__doc__)
    parser.add_argument("--mode", choices=("json", "stream"), default="json")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--database", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--output-dir", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    with sigterm_as_interrupt():
        text = profile(args.mode, args.connections, args.duration, args.database, RAW_DIR)
    path = args.output_dir / f"profile-{args.mode}.md"
    path.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
