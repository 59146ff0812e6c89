"""`make bench`: RouterX (full production path) vs the floor of its own stack (floor_app.py: the
bare pass-through on Starlette + hypercorn + aiohttp + msgspec) and the LiteLLM proxy, each in
front of one fast mock upstream, measured with wrk in the same run. Writes
scripts/bench/results/latest.md (and .json) and prints it.

Run: backend/.venv/bin/python -m scripts.bench [--quick] [--duration S] [--reps N] ...
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import time
import urllib.request
from pathlib import Path

from . import install, procstat, report, targets, wrk
from .processes import Services, sigterm_as_interrupt
from .targets import MODEL, Target

RESULTS = Path(__file__).resolve().parent / "results"
ALL_TARGETS = ("direct", "floor", "routerx", "litellm")
WARMUP_CONNECTIONS = 16
BUDGETS_NOTE = ", budgets on the tenant and its key (the mock priced as gpt-4.1-mini)"


@dataclasses.dataclass(frozen=True, slots=True)
class Plan:
    duration_s: float
    reps: int
    warmup_s: float
    connections: list[int]
    modes: list[str]
    targets: list[str]
    database: str
    workers: int
    output: Path
    budgets: bool = False


def parse_args(argv: list[str] | None = None) -> Plan:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run (10)")
    parser.add_argument("--reps", type=int, default=3, help="interleaved repetitions (3)")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds (3)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 3 s x 1 rep, 1 s warm-up")
    parser.add_argument("--connections", default="1,16,64", help="comma-separated (1,16,64)")
    parser.add_argument("--modes", default="json,stream", help="json,stream")
    parser.add_argument(
        "--targets", default=",".join(ALL_TARGETS), help="direct,floor,routerx,litellm"
    )
    parser.add_argument(
        "--database", choices=("postgres", "sqlite"), default="postgres", help="request log DB"
    )
    parser.add_argument("--workers", type=int, default=2, help="server workers (2)")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.md")
    parser.add_argument(
        "--budgets",
        action="store_true",
        help="RouterX with budgets on the demo tenant and key (priced upstream model)",
    )
    args = parser.parse_args(argv)
    chosen = [t for t in args.targets.split(",") if t]
    unknown = set(chosen) - set(ALL_TARGETS)
    if unknown or "direct" not in chosen:
        parser.error("--targets: a subset of direct,floor,routerx,litellm that includes direct")
    modes = [m for m in args.modes.split(",") if m]
    if set(modes) - set(report.MODES):
        parser.error("--modes: json and/or stream")
    return Plan(
        duration_s=3.0 if args.quick else args.duration,
        reps=1 if args.quick else args.reps,
        warmup_s=1.0 if args.quick else args.warmup,
        connections=[int(c) for c in args.connections.split(",") if c],
        modes=modes,
        targets=[t for t in ALL_TARGETS if t in chosen],
        database=args.database,
        workers=args.workers,
        output=args.output,
        budgets=args.budgets,
    )


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def check_answers(target: Target) -> None:
    """One non-stream and one stream request by hand before any timing: fail early and clearly."""
    for stream in (False, True):
        body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "stream": stream}
        request = urllib.request.Request(  # noqa: S310 - loopback
            target.url,
            data=json.dumps(body).encode(),
            headers={"content-type": "application/json"}
            | ({"authorization": f"Bearer {target.api_key}"} if target.api_key else {}),
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            text = response.read().decode()
        done = text.rstrip().endswith("data: [DONE]") if stream else '"choices"' in text
        if response.status != 200 or not done:
            raise RuntimeError(f"{target.name} answered badly (stream={stream}): {text[:300]}")


def measure(target: Target, mode: str, connections: int, seconds: float, rep: int) -> report.Sample:
    argv = wrk.command(target.url, connections, seconds, MODEL, mode == "stream", target.api_key)
    roots = [target.pid]
    before = procstat.cpu_seconds(roots)
    with procstat.PeakSampler(lambda: procstat.rss_bytes(roots)) as rss:
        result = wrk.run(argv)
    cpu = procstat.cpu_seconds(roots) - before
    return report.Sample(
        target=target.name,
        mode=mode,
        connections=connections,
        rep=rep,
        requests=result.requests,
        requests_per_s=result.requests_per_s,
        p50_ms=result.p50_ms,
        p99_ms=result.p99_ms,
        errors=result.errors,
        cpu_s=cpu,
        peak_rss_bytes=rss.peak,
    )


def start_targets(plan: Plan, services: Services) -> list[Target]:
    say("checking wrk, the mock upstream" + (", LiteLLM" if "litellm" in plan.targets else ""))
    install.ensure_wrk()
    mock_binary = install.build_mock()
    litellm = install.ensure_litellm() if "litellm" in plan.targets else None
    if plan.database == "postgres" and "routerx" in plan.targets:
        install.ensure_services()
    direct = targets.start_mock(mock_binary, services)
    started = [direct]
    if "floor" in plan.targets:
        say("starting the floor (floor_app.py on hypercorn)")
        started.append(targets.start_floor(direct, services, plan.workers))
    if "routerx" in plan.targets:
        say("starting RouterX (migrate, seed, route bench-model to the mock)")
        started.append(
            targets.start_routerx(plan.database, direct, services, plan.workers, plan.budgets)
        )
    if litellm is not None:
        say("starting LiteLLM")
        started.append(targets.start_litellm(litellm, direct, services, plan.workers))
    for target in started:
        check_answers(target)
    return started


def run(plan: Plan, services: Services, samples: list[report.Sample]) -> None:
    """Measure into `samples`, so that an interrupted run still reports what it measured."""
    started = start_targets(plan, services)
    for target in started:
        for mode in plan.modes:
            say(f"warm-up {target.name} {mode}")
            measure(target, mode, WARMUP_CONNECTIONS, plan.warmup_s, 0)
    total = plan.reps * len(plan.modes) * len(plan.connections) * len(started)
    for rep in range(1, plan.reps + 1):
        for mode in plan.modes:
            for connections in plan.connections:
                for target in started:
                    sample = measure(target, mode, connections, plan.duration_s, rep)
                    samples.append(sample)
                    say(
                        f"[{len(samples)}/{total}] rep {rep} {target.name:8} {mode:6} "
                        f"{connections:3} conns: {sample.requests_per_s:9.0f} req/s  "
                        f"p50 {sample.p50_ms:7.2f} ms  errors {sample.errors}"
                    )


def notes(plan: Plan, load_before: float, load_after: float) -> list[str]:
    floor = [
        "Floor: scripts/bench/floor_app.py, the bare pass-through on RouterX's stack (Starlette, "
        "a raw ASGI chat route, one shared aiohttp session per worker, msgspec, a key check "
        f"only), `hypercorn -k uvloop -w {plan.workers}`: no gateway on this stack can be cheaper."
    ]
    return [
        f"Run {time.strftime('%Y-%m-%d %H:%M %Z')} on {platform.node()} "
        f"({platform.machine()}, {os.cpu_count()} CPUs), {plan.duration_s:g} s per run, "
        f"{plan.workers} workers per server.",
        f"RouterX: full production path (auth, routing with a fallback tier, breakers on Redis, "
        f"request log to {plan.database}), ENABLE_REAL_CALLS=true, an `openai_compatible` "
        f"provider pointing at the mock{BUDGETS_NOTE if plan.budgets else ''}. "
        f"LiteLLM: `{install.LITELLM_REQUIREMENT}`, "
        f"`--num_workers {plan.workers}`, no database, logging off.",
        *(floor if "floor" in plan.targets else []),
        "Mock upstream: scripts/bench/mock_upstream.c (epoll, keep-alive; the 16-chunk stream "
        "is written at once).",
        f"Load average (1 min) before / after: {load_before:.1f} / {load_after:.1f}; anything "
        "above ~0.5 means other work shared the cores and every figure but the ratios is "
        "pessimistic.",
    ]


def main(argv: list[str] | None = None) -> int:
    plan = parse_args(argv)
    services = Services()
    samples: list[report.Sample] = []
    status = 0
    load_before = os.getloadavg()[0]
    with sigterm_as_interrupt():
        try:
            run(plan, services, samples)
        except KeyboardInterrupt:
            say("interrupted: stopping everything")
            status = 130
        except Exception as error:
            say(f"bench failed: {error}")
            for service in services:
                say(f"--- {service.name} log tail ---\n{service.log_tail(1500)}")
            status = 1
        finally:
            services.stop_all()
            if "routerx" in plan.targets:
                try:
                    targets.drop_database(plan.database)
                except Exception as error:  # a cleanup failure must not hide the results
                    say(f"could not drop the benchmark database: {error}")
    if samples:
        load = notes(plan, load_before, os.getloadavg()[0])
        text = report.render(samples, load, plan.connections, plan.targets)
        plan.output.parent.mkdir(parents=True, exist_ok=True)
        plan.output.write_text(text)
        raw = [dataclasses.asdict(sample) for sample in samples]
        plan.output.with_suffix(".json").write_text(json.dumps(raw, indent=1) + "\n")
        print(text)
        say(f"written: {plan.output}")
        if any(sample.errors for sample in samples):
            status = status or 1
    return status
