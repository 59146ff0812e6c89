"""Soak test: a RouterX gateway under steady mixed load with injected upstream faults.

    backend/.venv/bin/python scripts/soak.py --duration 600 --rps 40
    backend/.venv/bin/python scripts/soak.py --database-url postgresql://postgres@127.0.0.1/soak
    backend/.venv/bin/python scripts/soak.py --url http://127.0.0.1:8080 \
        --database-url sqlite:///abs/path/routerx.sqlite3     # a gateway that is already running

By default the script starts its own gateway (backend/.venv/bin/routerx) on a fresh SQLite
database (or the one --database-url names, migrated and seeded first). It makes the seeded mock
provider `mock-text`, the primary of the demo text rule, fail 20 % of its calls with a 503
(`{"mock": {"failure_rate": 0.2, "error_status": 503}}` in the database, then a config-version
bump), so that text requests fall back to `mock-text-backup`; the previous settings are restored
at the end. Then, after a warm-up, it sends requests at a steady rate (open loop: one every
1/rps seconds, whatever the answers take) for the given time: non-stream, stream and vision.

It reports requests sent, client-visible errors (non-200, a stream without `[DONE]` or with an
error event, a transport error), fallbacks (`x-routerx-attempts`), the RSS and open file
descriptors of the gateway processes after the warm-up and at the end, and the request-log rows
written against the requests sent (counted in the database once the writer has flushed).

Exits 1 when a client saw an error, when rows != requests, when the RSS grew by more than
--max-rss-growth (10 %), or when no fallback happened (the fault injection did not work).
Only 127.0.0.1 is ever a target; every wait has a deadline.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

REPO = Path(__file__).resolve().parents[1]
BACKEND = REPO / "backend"
ROUTERX = BACKEND / ".venv" / "bin" / "routerx"
KEY = "demo_key_fake_123456"
MODEL = "gpt-4.1-mini"
PRIMARY = "mock-text"
FAULTS = {"failure_rate": 0.2, "error_status": 503}
CHAT = "/v1/chat/completions"
TINY_PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQ"
    "DwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
MAX_IN_FLIGHT = 512


@dataclass
class Options:
    url: str | None
    database_url: str | None
    duration_s: float
    rps: float
    warmup_s: float
    stream_ratio: float
    vision_ratio: float
    failure_rate: float
    max_rss_growth: float
    workers: int
    timeout_s: float
    json_path: Path | None
    progress: bool


@dataclass
class Tally:
    sent: int = 0
    completed: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    providers: Counter[str] = field(default_factory=Counter)
    fallbacks: int = 0
    latencies_ms: list[float] = field(default_factory=list)


@dataclass
class Usage:
    rss_kb: int
    open_fds: int
    pids: list[int]


@dataclass
class Report:
    duration_s: float
    rps_target: float
    warmup_requests: int
    requests: int  # in the measured part
    requests_total: int  # warm-up included: what the row count is checked against
    completed: int
    by_kind: dict[str, int]
    client_errors: int
    errors: dict[str, int]
    fallbacks: int
    providers: dict[str, int]
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    rss_start_kb: int
    rss_end_kb: int
    rss_growth: float
    fds_start: int
    fds_end: int
    log_rows: int
    failures: list[str]


# --- the gateway's processes ---------------------------------------------------------------


def listening_pids(port: int) -> list[int]:
    """The processes holding the listening socket of 127.0.0.1:port (hypercorn's parent and
    its workers share it), found through /proc: no extra tool needed."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as rows:
            next(rows)
            for row in rows:
                fields = row.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{inode}]")
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            fd_dir = f"/proc/{entry}/fd"
            if any(os.readlink(f"{fd_dir}/{fd}") in inodes for fd in os.listdir(fd_dir)):
                pids.append(int(entry))
    return sorted(pids)


def usage(pids: list[int]) -> Usage:
    rss = fds = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1])
            fds += len(os.listdir(f"/proc/{pid}/fd"))
    return Usage(rss, fds, pids)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def gateway_env(database_url: str, port: int, workers: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROUTERX_", "GATEWAY_"))}
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL="",
        ENABLE_REAL_CALLS="false",
        JWT_SECRET="soak-" + secrets.token_hex(16),
        GATEWAY_HOST="127.0.0.1",
        GATEWAY_PORT=str(port),
        GATEWAY_WORKERS=str(workers),
        CONFIG_POLL_INTERVAL_S="0.5",
        LOG_LEVEL="WARNING",
    )
    return env


class OwnGateway:
    """`routerx migrate`, `routerx seed`, then `routerx gateway`, in its own process group."""

    def __init__(self, database_url: str, workers: int, workdir: Path) -> None:
        self.port = free_port()
        self.env = gateway_env(database_url, self.port, workers)
        self.log = workdir / "gateway.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def prepare(self) -> None:
        for command in ("migrate", "seed"):
            subprocess.run(  # noqa: S603 - our own routerx, fixed arguments
                [str(ROUTERX), command],
                env=self.env,
                cwd=BACKEND,
                check=True,
                capture_output=True,
                timeout=120,
            )

    def start(self) -> None:
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(  # noqa: S603 - our own routerx
                [str(ROUTERX), "gateway"],
                env=self.env,
                cwd=BACKEND,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


async def wait_ready(url: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(url + "/readyz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise SystemExit(f"soak: the gateway at {url} was not ready within {timeout_s:.0f} s")


# --- the database: faults in, rows out -----------------------------------------------------


class Database:
    def __init__(self, url: str) -> None:
        self.url = url

    async def __aenter__(self) -> Database:
        sys.path.insert(0, str(BACKEND / "src"))
        from routerx.storage.db import init_db

        await init_db(self.url)
        return self

    async def __aexit__(self, *exc: object) -> None:
        from tortoise import Tortoise

        await Tortoise.close_connections()

    async def set_faults(self, faults: dict[str, Any] | None) -> dict[str, Any]:
        """Give the primary these mock faults (None: none); returns its previous settings."""
        from routerx.storage.config_version import bump_config_version
        from routerx.storage.models import Provider

        provider = await Provider.get(name=PRIMARY)
        previous = dict(provider.settings or {})
        settings = {k: v for k, v in previous.items() if k != "mock"}
        if faults:
            settings["mock"] = faults
        await Provider.filter(id=provider.id).update(settings=settings)
        await bump_config_version()
        return previous

    async def restore(self, settings: dict[str, Any]) -> None:
        from routerx.storage.config_version import bump_config_version
        from routerx.storage.models import Provider

        await Provider.filter(name=PRIMARY).update(settings=settings)
        await bump_config_version()

    async def config_version(self) -> int:
        from routerx.storage.config_version import current_config_version

        return await current_config_version()

    async def rows(self, prefix: str) -> int:
        from routerx.storage.models import RequestLog

        return await RequestLog.filter(client_request_id__startswith=prefix).count()


async def wait_for_config(url: str, version: int, timeout_s: float = 15.0) -> None:
    """Until the gateway reports (on /readyz) the configuration version we just wrote."""
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            async with session.get(url + "/readyz") as response:
                if (await response.json()).get("config_version", -1) >= version:
                    return
            await asyncio.sleep(0.1)
    raise SystemExit(f"soak: the gateway did not load config version {version} in time")


# --- the load ---------------------------------------------------------------------------------


def bodies() -> dict[str, bytes]:
    text = [{"role": "user", "content": "Say hello in one short sentence."}]
    vision = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in this image?"},
                {"type": "image_url", "image_url": {"url": TINY_PNG}},
            ],
        }
    ]
    return {
        "text": json.dumps({"model": MODEL, "messages": text}).encode(),
        "stream": json.dumps({"model": MODEL, "messages": text, "stream": True}).encode(),
        "vision": json.dumps({"model": MODEL, "messages": vision}).encode(),
    }


class Load:
    def __init__(self, url: str, options: Options, run_id: str) -> None:
        self.endpoint = url + CHAT
        self.options = options
        self.run_id = run_id
        self.bodies = bodies()
        self.tally = Tally()
        self._number = 0
        self._rng_state = 0

    def _kind(self) -> str:
        # a fixed, evenly spread mix: stream, vision and text interleave the same way each run
        self._rng_state = (self._rng_state + 0.6180339887) % 1.0
        if self._rng_state < self.options.stream_ratio:
            return "stream"
        if self._rng_state < self.options.stream_ratio + self.options.vision_ratio:
            return "vision"
        return "text"

    async def one(self, session: aiohttp.ClientSession, kind: str) -> None:
        self._number += 1
        headers = {
            "authorization": f"Bearer {KEY}",
            "content-type": "application/json",
            "x-request-id": f"{self.run_id}-{self._number}",
        }
        tally = self.tally
        tally.sent += 1
        tally.kinds[kind] += 1
        started = time.perf_counter()
        error = None
        try:
            async with session.post(
                self.endpoint, data=self.bodies[kind], headers=headers
            ) as response:
                body = await response.read()
                if response.status != 200:
                    error = f"http_{response.status}"
                elif kind == "stream" and not body.rstrip().endswith(b"data: [DONE]"):
                    error = "stream_without_done"
                elif kind == "stream" and b'data: {"error"' in body:
                    error = "stream_error_event"
                if response.headers.get("x-routerx-attempts"):
                    tally.fallbacks += 1
                provider = response.headers.get("x-routerx-provider")
                if provider:
                    tally.providers[provider] += 1
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = type(exc).__name__
        tally.completed += 1
        if error is not None:
            tally.errors[error] += 1
        else:
            tally.latencies_ms.append((time.perf_counter() - started) * 1000)

    async def run(self, session: aiohttp.ClientSession, seconds: float, label: str) -> None:
        """One request every 1/rps seconds for `seconds`, then wait for the stragglers."""
        interval = 1.0 / self.options.rps
        tasks: set[asyncio.Task[None]] = set()
        started = time.monotonic()
        next_at = started
        last_progress = started
        while (now := time.monotonic()) < started + seconds:
            if now < next_at:
                await asyncio.sleep(next_at - now)  # pacing, not waiting for a condition
                continue
            next_at += interval
            if len(tasks) >= MAX_IN_FLIGHT:
                self.tally.errors["client_backlog"] += 1
                continue
            task = asyncio.create_task(self.one(session, self._kind()))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            if self.options.progress and now - last_progress >= 10:
                last_progress = now
                print(
                    f"soak {label}: {now - started:5.0f}/{seconds:.0f} s, "
                    f"{self.tally.sent} sent, {sum(self.tally.errors.values())} errors, "
                    f"{self.tally.fallbacks} fallbacks, {len(tasks)} in flight",
                    file=sys.stderr,
                )
        if tasks:
            await asyncio.wait(tasks, timeout=self.options.timeout_s + 5)
        for task in tasks:
            task.cancel()


def percentile(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(pct / 100 * len(ordered)))], 2)


async def wait_for_rows(database: Database, prefix: str, expected: int, timeout_s: float) -> int:
    """Until the writer has flushed every row (or the count stops moving past the deadline)."""
    deadline = time.monotonic() + timeout_s
    count = await database.rows(prefix)
    while count < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        count = await database.rows(prefix)
    return count


# --- the run -----------------------------------------------------------------------------------


def check_local(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname not in LOCAL_HOSTS:
        raise SystemExit("soak: only a gateway on 127.0.0.1 may be soaked (http://127.0.0.1:PORT)")
    return url.rstrip("/").replace("localhost", "127.0.0.1")


async def soak(options: Options) -> Report:
    workdir = Path(tempfile.mkdtemp(prefix="routerx-soak-"))
    database_url = options.database_url or f"sqlite://{workdir / 'routerx.sqlite3'}"
    own: OwnGateway | None = None
    if options.url is None:
        own = OwnGateway(database_url, options.workers, workdir)
        own.prepare()
        own.start()
        url = own.url
    else:
        if options.database_url is None:
            raise SystemExit("soak: --url needs --database-url (faults go in, rows are counted)")
        url = check_local(options.url)
    run_id = "soak-" + secrets.token_hex(4)
    try:
        await wait_ready(url)
        port = urlsplit(url).port or 80
        pids = listening_pids(port)
        if not pids:
            raise SystemExit(f"soak: no process of this user listens on port {port}")
        async with Database(database_url) as database:
            faults = {**FAULTS, "failure_rate": options.failure_rate}
            previous = await database.set_faults(faults)
            try:
                await wait_for_config(url, await database.config_version())
                report = await drive(options, url, run_id, pids, database)
            finally:
                await database.restore(previous)
        return report
    finally:
        if own is not None:
            own.stop()
            if options.progress:
                print(f"soak: gateway log in {own.log}", file=sys.stderr)


async def drive(
    options: Options, url: str, run_id: str, pids: list[int], database: Database
) -> Report:
    load = Load(url, options, run_id)
    connector = aiohttp.TCPConnector(limit=MAX_IN_FLIGHT)
    timeout = aiohttp.ClientTimeout(total=options.timeout_s)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await load.run(session, options.warmup_s, "warm-up")
        start = usage(pids)
        warm = load.tally
        load.tally = Tally()
        began = time.monotonic()
        await load.run(session, options.duration_s, "soak")
        elapsed = time.monotonic() - began
        end = usage(pids)
    tally = load.tally
    sent = warm.sent + tally.sent
    errors = warm.errors + tally.errors
    rows = await wait_for_rows(database, run_id + "-", sent, timeout_s=60)
    growth = (end.rss_kb - start.rss_kb) / start.rss_kb if start.rss_kb else 0.0
    failures = []
    if errors:
        failures.append(f"{sum(errors.values())} client-visible error(s): {dict(errors)}")
    if rows != sent:
        failures.append(f"{rows} request-log row(s) for {sent} request(s)")
    if growth > options.max_rss_growth:
        failures.append(f"RSS grew by {growth:.1%} (limit {options.max_rss_growth:.0%})")
    if options.failure_rate > 0 and warm.fallbacks + tally.fallbacks == 0:
        failures.append("no fallback at all: the fault injection did not take effect")
    return Report(
        duration_s=round(elapsed, 1),
        rps_target=options.rps,
        warmup_requests=warm.sent,
        requests=tally.sent,
        requests_total=sent,
        completed=tally.completed,
        by_kind=dict(tally.kinds),
        client_errors=sum(tally.errors.values()),
        errors=dict(errors),
        fallbacks=tally.fallbacks,
        providers=dict(tally.providers),
        latency_p50_ms=percentile(tally.latencies_ms, 50),
        latency_p99_ms=percentile(tally.latencies_ms, 99),
        rss_start_kb=start.rss_kb,
        rss_end_kb=end.rss_kb,
        rss_growth=round(growth, 4),
        fds_start=start.open_fds,
        fds_end=end.open_fds,
        log_rows=rows,
        failures=failures,
    )


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="a running gateway (127.0.0.1 only); default: start one")
    parser.add_argument("--database-url", help="its database (default: a fresh SQLite file)")
    parser.add_argument("--duration", type=float, default=600.0, help="seconds (default 600)")
    parser.add_argument("--rps", type=float, default=40.0, help="requests per second")
    parser.add_argument("--warmup", type=float, default=15.0, help="seconds before measuring")
    parser.add_argument("--stream-ratio", type=float, default=0.3)
    parser.add_argument("--vision-ratio", type=float, default=0.1)
    parser.add_argument("--failure-rate", type=float, default=0.2, help="of the primary's calls")
    parser.add_argument("--max-rss-growth", type=float, default=0.10)
    parser.add_argument("--workers", type=int, default=1, help="gateway workers (own gateway)")
    parser.add_argument("--timeout", type=float, default=30.0, help="per request, seconds")
    parser.add_argument("--json", type=Path, help="also write the report here")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    if args.rps <= 0 or args.duration <= 0 or args.warmup < 0:
        parser.error("--rps and --duration must be positive, --warmup not negative")
    return Options(
        url=args.url,
        database_url=args.database_url,
        duration_s=args.duration,
        rps=args.rps,
        warmup_s=args.warmup,
        stream_ratio=args.stream_ratio,
        vision_ratio=args.vision_ratio,
        failure_rate=args.failure_rate,
        max_rss_growth=args.max_rss_growth,
        workers=args.workers,
        timeout_s=args.timeout,
        json_path=args.json,
        progress=not args.quiet,
    )


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    report = asyncio.run(soak(options))
    text = json.dumps(asdict(report), indent=2)
    print(text)
    if options.json_path is not None:
        options.json_path.write_text(text + "\n")
    for failure in report.failures:
        print(f"soak: FAIL: {failure}", file=sys.stderr)
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
