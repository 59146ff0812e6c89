"""`make bench ARGS="--instructions"`: CPU instructions per request, counted by valgrind's
callgrind, for the floor and RouterX's full production path, one worker each, in the same run.

Wall-clock figures move with whatever else the machine runs; instruction counts barely do, so
this is the instrument for judging a change (the ratio to the floor above all). Each server runs
under callgrind with instrumentation off; after a warm-up it is switched on for exactly N
sequential keep-alive requests per surface, then off, and the counts are dumped. RouterX's
background loops (config polling, breaker and limit sync, log flushing) run slower under
valgrind than in real time and would be charged to the requests, so an idle window is measured
too and its rate, times the window's duration, is subtracted ("net").

Run: backend/.venv/bin/python -m scripts.bench --instructions [--requests 200] [--source DIR]
(--source: another checkout's backend/src, to count an older version the same way).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import install, targets
from .processes import Service, Services, free_port, sigterm_as_interrupt, start, wait_http

RESULTS = Path(__file__).resolve().parent / "results"
PYTHON = sys.executable
VALGRIND_READY_S = 900.0  # imports alone take ~20 s under valgrind on a quiet core
WARMUP_REQUESTS = 30
IDLE_WINDOW_S = 5.0
USER = [{"role": "user", "content": "hi"}]
CALLGRIND_CONTROL = "callgrind_control"


@dataclass(frozen=True, slots=True)
class Surface:
    name: str
    path: str
    body: dict[str, object]
    headers: dict[str, str]


def surfaces(api_key: str) -> dict[str, Surface]:
    bearer = {"authorization": f"Bearer {api_key}"}
    model = targets.MODEL
    return {
        "chat": Surface("chat", "/v1/chat/completions", {"model": model, "messages": USER}, bearer),
        "chat-stream": Surface(
            "chat-stream",
            "/v1/chat/completions",
            {"model": model, "messages": USER, "stream": True},
            bearer,
        ),
        "responses": Surface("responses", "/v1/responses", {"model": model, "input": "hi"}, bearer),
        "messages": Surface(
            "messages",
            "/v1/messages",
            {"model": model, "max_tokens": 64, "messages": USER},
            {"x-api-key": api_key, "anthropic-version": "2023-06-01"},
        ),
    }


FLOOR_SURFACES = ("chat", "chat-stream")  # the floor is a chat pass-through only


@dataclass(frozen=True, slots=True)
class Count:
    target: str
    surface: str
    requests: int
    instructions: int
    seconds: float
    idle_per_s: float

    @property
    def per_request(self) -> float:
        return self.instructions / self.requests

    @property
    def net_per_request(self) -> float:
        return max(0.0, self.instructions - self.idle_per_s * self.seconds) / self.requests


class Callgrind:
    """One server process under callgrind, driven through callgrind_control."""

    def __init__(self, out_dir: Path, name: str) -> None:
        self.out_dir = out_dir
        self.name = name
        self.pattern = str(out_dir / f"{name}.%p.out")

    def prefix(self) -> list[str]:
        return [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={self.pattern}",
        ]

    @staticmethod
    def control(pid: int, *options: str) -> None:
        subprocess.run(  # noqa: S603 - fixed argv
            [CALLGRIND_CONTROL, *options, str(pid)], check=True, capture_output=True
        )

    def window(self, pid: int, label: str, work: Callable[[], None]) -> tuple[int, float]:
        """Instructions executed by `pid` while `work` ran, and how long it ran."""
        self.control(pid, "--zero")
        self.control(pid, "--instr=on")
        started = time.monotonic()
        work()
        elapsed = time.monotonic() - started
        self.control(pid, "--instr=off")
        self.control(pid, f"--dump={label}")
        return self.wait_for_dump(pid, label), elapsed

    def wait_for_dump(self, pid: int, label: str, timeout_s: float = 120.0) -> int:
        """The totals of the dump triggered with `label` (callgrind may put several dumps in
        one file, each starting with its own header)."""
        marker = re.compile(
            rf"^desc: Trigger: dump {re.escape(label)}$.*?^totals:\s+(\d+)$", re.M | re.S
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for path in self.out_dir.glob(f"{self.name}.{pid}.out*"):
                match = marker.search(path.read_text(errors="replace"))
                if match is not None:
                    return int(match.group(1))
            time.sleep(0.2)
        raise TimeoutError(f"callgrind wrote no dump '{label}' for {self.name}")


def send_requests(port: int, surface: Surface, count: int) -> None:
    """`count` sequential requests on one keep-alive connection; every answer must be a 200."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    body = json.dumps(surface.body).encode()
    headers = {"content-type": "application/json", **surface.headers}
    try:
        for _ in range(count):
            connection.request("POST", surface.path, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            if response.status != 200:
                raise RuntimeError(f"{surface.name}: {response.status} {payload[:300]!r}")
    finally:
        connection.close()


def start_floor(
    grind: Callgrind, upstream: targets.Target, services: Services
) -> tuple[Service, int]:
    port = free_port()
    env = dict(os.environ)
    env.update(
        FLOOR_UPSTREAM_URL=upstream.url,
        FLOOR_API_KEY=targets.FLOOR_KEY,
        FLOOR_UPSTREAM_MODEL=targets.UPSTREAM_MODEL,
    )
    # -w 0: hypercorn serves in its own process, the one callgrind watches.
    argv = [PYTHON, targets.HYPERCORN, "-k", "uvloop", "-w", "0", "-b", f"127.0.0.1:{port}"]
    argv.append(f"{targets.FLOOR_APP}:app")
    service = services.add(
        start("floor-callgrind", grind.prefix() + argv, install.BENCH_DIR, env, install.BENCH_DIR)
    )
    wait_http(service, f"http://127.0.0.1:{port}/healthz", VALGRIND_READY_S, frozenset({200}))
    return service, port


def start_routerx(
    grind: Callgrind,
    upstream: targets.Target,
    services: Services,
    database: str,
    source: Path | None,
    budgets: bool = False,
) -> tuple[Service, int]:
    database_url = targets.fresh_database(database)
    port = free_port()
    env = targets.routerx_env(database_url, port, workers=1)
    if source is not None:
        env["PYTHONPATH"] = str(source)
    for command in ("migrate", "seed"):
        subprocess.run(  # noqa: S603
            [PYTHON, targets.ROUTERX, command],
            env=env,
            cwd=install.BENCH_DIR,
            check=True,
            capture_output=True,
        )
    upstream_base = upstream.url.removesuffix("/v1/chat/completions")
    subprocess.run(  # noqa: S603 - the routes are configured with the measured version's code
        [PYTHON, "-c", _CONFIGURE, database_url, upstream_base, "budgets" if budgets else ""],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        check=True,
    )
    argv = [*grind.prefix(), PYTHON, targets.ROUTERX, "gateway"]
    service = services.add(
        start("routerx-callgrind", argv, install.BENCH_DIR, env, install.BENCH_DIR)
    )
    wait_http(service, f"http://127.0.0.1:{port}/readyz", VALGRIND_READY_S, frozenset({200}))
    return service, port


_CONFIGURE = (
    "import asyncio, sys; from scripts.bench import targets; "
    "asyncio.run(targets._configure_routes(sys.argv[1], sys.argv[2], bool(sys.argv[3])))"
)


def measure(
    grind: Callgrind,
    service: Service,
    port: int,
    chosen: list[Surface],
    plan: argparse.Namespace,
    say: Callable[[str], None],
) -> list[Count]:
    """`plan.reps` rounds, each an idle window then one window per surface."""
    for surface in chosen:
        send_requests(port, surface, WARMUP_REQUESTS)
    counts = []
    for rep in range(1, plan.reps + 1):
        idle, idle_s = grind.window(service.pid, f"idle-{rep}", lambda: time.sleep(IDLE_WINDOW_S))
        for surface in chosen:
            instructions, seconds = grind.window(
                service.pid,
                f"{surface.name}-{rep}",
                lambda s=surface: send_requests(port, s, plan.requests),
            )
            count = Count(
                grind.name, surface.name, plan.requests, instructions, seconds, idle / idle_s
            )
            say(
                f"rep {rep} {grind.name:8} {surface.name:12} {count.per_request:12,.0f} "
                f"instructions/request (net {count.net_per_request:,.0f})"
            )
            counts.append(count)
    return counts


def medians(counts: list[Count]) -> dict[tuple[str, str], tuple[float, float, float, float]]:
    """Per (target, surface): median raw and net per request, and the net's min and max."""
    grouped: dict[tuple[str, str], list[Count]] = {}
    for count in counts:
        grouped.setdefault((count.target, count.surface), []).append(count)
    result = {}
    for key, group in grouped.items():
        net = [c.net_per_request for c in group]
        raw = statistics.median(c.per_request for c in group)
        result[key] = (raw, statistics.median(net), min(net), max(net))
    return result


def render(counts: list[Count], plan: argparse.Namespace) -> str:
    table = medians(counts)
    floor = {surface: row[1] for (target, surface), row in table.items() if target == "floor"}
    source = f", code from `{plan.source}`" if plan.source else ""
    lines = [
        "# Instructions per request (callgrind)",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M %Z')}: {plan.reps} rounds of {plan.requests} "
        "sequential keep-alive requests per surface after a warm-up, one worker per server, under "
        "`valgrind --tool=callgrind`; medians. Net: minus the idle background rate over the "
        "window. RouterX: the full production path of `make bench` (auth, limits, routing with a "
        f"fallback tier, breakers and limits on Redis, request log, metrics){source}.",
        "",
        "| target | surface | instructions/request | net | net min-max | net vs floor |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for (target, surface), (raw, net, low, high) in table.items():
        base = floor.get("chat-stream" if surface.endswith("stream") else "chat")
        ratio = f"{net / base:.2f}x" if base else "-"
        lines.append(
            f"| {target} | {surface} | {raw:,.0f} | {net:,.0f} | {low:,.0f}-{high:,.0f} | {ratio} |"
        )
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench --instructions", description=__doc__)
    parser.add_argument("--instructions", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--requests", type=int, default=200, help="requests per window (200)")
    parser.add_argument("--reps", type=int, default=3, help="rounds of windows (3)")
    parser.add_argument(
        "--surfaces", default="chat,chat-stream,responses,messages", help="RouterX surfaces"
    )
    parser.add_argument(
        "--targets",
        default="floor,routerx",
        help="floor,routerx,routerx-budgets (RouterX with budgets on the tenant and its key)",
    )
    parser.add_argument("--database", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--source", type=Path, help="measure RouterX from this backend/src")
    parser.add_argument("--output", type=Path, default=RESULTS / "instructions.md")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    install.ensure_valgrind()

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    install.BENCH_DIR.mkdir(exist_ok=True)
    out_dir = install.BENCH_DIR / "callgrind"
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir()
    services = Services()
    counts: list[Count] = []
    with sigterm_as_interrupt():
        try:
            upstream = targets.start_mock(install.build_mock(), services)
            names = [name for name in args.targets.split(",") if name]
            if "floor" in names:
                grind = Callgrind(out_dir, "floor")
                say("starting the floor under callgrind")
                service, port = start_floor(grind, upstream, services)
                chosen = [surfaces(targets.FLOOR_KEY)[name] for name in FLOOR_SURFACES]
                counts += measure(grind, service, port, chosen, args, say)
                service.stop()
            for name in (n for n in ("routerx", "routerx-budgets") if n in names):
                if args.database == "postgres":
                    install.ensure_services()
                grind = Callgrind(out_dir, name)
                say(f"starting {name} under callgrind (a minute or more)")
                service, port = start_routerx(
                    grind, upstream, services, args.database, args.source, name != "routerx"
                )
                table = surfaces(targets.ROUTERX_KEY)
                chosen = [table[surface] for surface in args.surfaces.split(",") if surface]
                counts += measure(grind, service, port, chosen, args, say)
                service.stop()
                targets.drop_database(args.database)
        finally:
            services.stop_all()
            if "routerx" in args.targets:  # routerx and routerx-budgets
                targets.drop_database(args.database)
    text = render(counts, args)
    args.output.write_text(text)
    print(text)
    return 0
