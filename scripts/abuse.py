"""Abuse storms against a RouterX gateway: what one tenant can do to a worker's memory, its event
loop and its connections, measured from outside.

    backend/.venv/bin/python scripts/abuse.py                      # its own gateway, every storm
    backend/.venv/bin/python scripts/abuse.py --storm large --count 16 --size-mb 50
    backend/.venv/bin/python scripts/abuse.py --url http://127.0.0.1:8080   # `make run`'s

Storms (each on its own, with the gateway back at rest in between):
- large: `--count` concurrent chat bodies of `--size-mb` MB each (one long string), sent at
  full speed over raw sockets;
- parts: one body just under the body limit made of tiny text parts (~1.8 million at 48 MB);
- stalled: `--count` bodies of `--size-mb` MB sent up to one byte before their end and held
  there for `--hold-s` seconds, then finished.

During each storm the gateway's RSS is sampled every 20 ms (from /proc, all its processes) and
`/healthz` is called back to back on its own connection, both from a separate process, so that
the senders' own work never shows up as gateway latency. The report gives, per storm: idle and
peak RSS, the answers by status (and error code), and `/healthz` latency (p50, p99, max).
Without --url it starts `routerx gateway` on a fresh SQLite database (migrated and seeded) with
one worker, and stops it at the end. Only 127.0.0.1 is ever a target; every wait has a
deadline. Exit status 0 unless the gateway stopped answering.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from multiprocessing.synchronize import Event as ProcessEvent
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from soak import KEY, MODEL, OwnGateway, listening_pids, usage, wait_ready

CHAT = "/v1/chat/completions"
SAMPLE_S = 0.02
PIECE = 256 * 1024
ANSWER_TIMEOUT_S = 120.0


@dataclass
class StormReport:
    storm: str
    requests: int
    body_mb: float
    idle_rss_mib: float
    peak_rss_mib: float
    answers: dict[str, int] = field(default_factory=dict)
    healthz_calls: int = 0
    healthz_p50_ms: float = 0.0
    healthz_p99_ms: float = 0.0
    healthz_max_ms: float = 0.0
    healthz_failures: int = 0
    seconds: float = 0.0


def long_string_body(size: int) -> bytes:
    start = f'{{"model": "{MODEL}", "messages": [{{"role": "user", "content": "'.encode()
    end = b'"}]}'
    return start + b"a" * (size - len(start) - len(end)) + end


def parts_body(size: int) -> tuple[bytes, int]:
    part = b'{"type":"text","text":"a"},'
    start = f'{{"model": "{MODEL}", "messages": [{{"role": "user", "content": ['.encode()
    count = (size - len(start) - 8) // len(part)
    return start + part * (count - 1) + part[:-1] + b"]}]}", count


def head(host: str, length: int) -> bytes:
    return (
        f"POST {CHAT} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    ).encode()


async def send_body(host: str, port: int, body: bytes, hold: asyncio.Event | None = None) -> str:
    """Send one request over a raw connection while reading the answer, as a full-duplex client
    does (a refusal comes while the body is still being sent, then the connection closes); the
    answer's status and error code, or the transport failure."""
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError as exc:
        return f"connect:{type(exc).__name__}"
    received = bytearray()

    async def read_answer() -> None:
        with contextlib.suppress(ConnectionError):
            while chunk := await reader.read(65536):
                received.extend(chunk)

    answer = asyncio.create_task(read_answer())
    try:
        with contextlib.suppress(ConnectionError):
            writer.write(head(host, len(body)))
            end = len(body) - 1 if hold is not None else len(body)
            for offset in range(0, end, PIECE):
                if answer.done():  # answered and closed before the body was all sent
                    break
                writer.write(body[offset : min(end, offset + PIECE)])
                await writer.drain()
            if hold is not None and not answer.done():
                await hold.wait()
                writer.write(body[-1:])
                await writer.drain()
        async with asyncio.timeout(ANSWER_TIMEOUT_S):
            await answer
    except TimeoutError:
        return "transport:no answer"
    finally:
        answer.cancel()
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return _describe(bytes(received))


def _describe(answer: bytes) -> str:
    if not answer.startswith(b"HTTP/1.1 "):
        return "closed without an answer"
    status = answer.split(b" ", 2)[1].decode()
    _, _, body = answer.partition(b"\r\n\r\n")
    with contextlib.suppress(ValueError, KeyError, TypeError):
        code = json.loads(body)["error"]["code"]
        return f"{status} {code}"
    return status


@dataclass
class Observed:
    peak_kb: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    failures: int = 0


def watch(url: str, pids: list[int], stop: ProcessEvent, results: Any) -> None:
    """In its own process: RSS samples and back-to-back /healthz calls until `stop`."""
    observed = Observed()

    async def sample() -> None:
        while not stop.is_set():
            observed.peak_kb = max(observed.peak_kb, usage(pids).rss_kb)
            await asyncio.sleep(SAMPLE_S)

    async def probe() -> None:
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while not stop.is_set():
                started = time.perf_counter()
                try:
                    async with session.get(url + "/healthz") as response:
                        await response.read()
                        ok = response.status == 200
                except (aiohttp.ClientError, TimeoutError):
                    ok = False
                observed.latencies_ms.append((time.perf_counter() - started) * 1000)
                observed.failures += 0 if ok else 1
                await asyncio.sleep(0.005)

    async def both() -> None:
        await asyncio.gather(sample(), probe())

    asyncio.run(both())
    results.put(asdict(observed))


async def settle(url: str, pids: list[int]) -> int:
    """Wait (bounded) for the gateway to be at rest; its RSS then."""
    await wait_ready(url)
    return usage(pids).rss_kb


async def storm(
    name: str, url: str, pids: list[int], bodies: list[bytes], hold_s: float | None
) -> StormReport:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    idle_kb = await settle(url, pids)
    context = multiprocessing.get_context("spawn")
    stop, results = context.Event(), context.Queue()
    watcher = context.Process(target=watch, args=(url, pids, stop, results))
    watcher.start()
    await asyncio.sleep(0.5)  # the watcher's own start-up, before the storm begins
    started = time.monotonic()
    hold = asyncio.Event() if hold_s is not None else None
    senders = [asyncio.create_task(send_body(host, port, body, hold)) for body in bodies]
    if hold is not None and hold_s is not None:
        await asyncio.sleep(hold_s)  # the storm's own length, not a wait for a condition
        hold.set()
    answers = await asyncio.gather(*senders)
    seconds = time.monotonic() - started
    stop.set()
    observed = Observed(**await asyncio.to_thread(results.get, True, 60))
    watcher.join(10)
    latencies = sorted(observed.latencies_ms) or [0.0]
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return StormReport(
        storm=name,
        requests=len(bodies),
        body_mb=round(len(bodies[0]) / 1e6, 1),
        idle_rss_mib=round(idle_kb / 1024, 1),
        peak_rss_mib=round(observed.peak_kb / 1024, 1),
        answers=dict(Counter(answers)),
        healthz_calls=len(observed.latencies_ms),
        healthz_p50_ms=round(statistics.median(latencies), 1),
        healthz_p99_ms=round(p99, 1),
        healthz_max_ms=round(latencies[-1], 1),
        healthz_failures=observed.failures,
        seconds=round(seconds, 1),
    )


async def run(args: argparse.Namespace) -> list[StormReport]:
    url = args.url
    own: OwnGateway | None = None
    workdir = Path(tempfile.mkdtemp(prefix="routerx-abuse-"))
    if url is None:
        own = OwnGateway(f"sqlite://{workdir / 'routerx.sqlite3'}", 1, workdir)
        own.env["LOG_LEVEL"] = "WARNING"
        own.prepare()
        own.start()
        url = own.url
    elif urlsplit(url).hostname not in {"127.0.0.1", "localhost"}:
        raise SystemExit("abuse: only a gateway on 127.0.0.1 may be a target")
    try:
        await wait_ready(url)
        port = urlsplit(url).port or 80
        pids = listening_pids(port)
        if not pids:
            raise SystemExit(f"abuse: no process listens on port {port}")
        size = int(args.size_mb * 1_000_000)
        reports = []
        storms = ("large", "parts", "stalled") if args.storm == "all" else (args.storm,)
        for name in storms:
            if name == "large":
                bodies = [long_string_body(size)] * args.count
                reports.append(await storm(name, url, pids, bodies, None))
            elif name == "parts":
                body, count = parts_body(int(args.parts_body_mb * 1_000_000))
                print(f"abuse: the parts body has {count:,} parts", file=sys.stderr)
                reports.append(await storm(name, url, pids, [body], None))
            else:
                bodies = [long_string_body(size)] * args.count
                reports.append(await storm(name, url, pids, bodies, args.hold_s))
        return reports
    finally:
        if own is not None:
            own.stop()


def print_table(reports: list[StormReport]) -> None:
    for report in reports:
        print(
            f"{report.storm:8} {report.requests:3} x {report.body_mb:5.1f} MB  "
            f"RSS {report.idle_rss_mib:6.1f} -> {report.peak_rss_mib:6.1f} MiB  "
            f"/healthz p50 {report.healthz_p50_ms:6.1f} ms, p99 {report.healthz_p99_ms:6.1f} ms, "
            f"max {report.healthz_max_ms:6.1f} ms ({report.healthz_calls} calls, "
            f"{report.healthz_failures} failed)  {report.seconds:5.1f} s"
        )
        for answer, count in sorted(report.answers.items()):
            print(f"           {count:3} x {answer}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running gateway on 127.0.0.1 (default: start one)")
    parser.add_argument("--storm", choices=["all", "large", "parts", "stalled"], default="all")
    parser.add_argument("--count", type=int, default=16, help="concurrent bodies")
    parser.add_argument("--size-mb", type=float, default=50.0, help="MB per body")
    parser.add_argument("--parts-body-mb", type=float, default=48.0, help="the parts body's MB")
    parser.add_argument("--hold-s", type=float, default=10.0, help="how long stalled bodies hold")
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args(argv)
    reports = asyncio.run(run(args))
    print_table(reports)
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(r) for r in reports], indent=2) + "\n")
    return 1 if any(r.healthz_failures for r in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
