"""Load test a running RouterX gateway (`make loadtest`): concurrent chat completions.

Drives POST /v1/chat/completions with a fixed number of concurrent connections for a duration or a
request count, with a mix of non-stream, stream and vision requests. Prints a progress line on
stderr while it runs, then a summary: requests/s, latency percentiles, time to first token for
streams, errors by status, fallback rate (from `x-routerx-attempts`) and which providers answered
(`x-routerx-provider`). `--json PATH` also writes the summary as JSON.

Exits 1 when the error rate is above `--max-error-rate`. A stream counts as an error when it ends
without `data: [DONE]` or carries an error event after its 200.

Kept CPU-light because it shares the machine with the gateway: one aiohttp session with a pool of
keep-alive connections, request bodies encoded once, streams checked as bytes (no JSON decoding).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

DEFAULT_URL = "http://localhost:8080"
DEFAULT_KEY = "demo_key_fake_123456"
DEFAULT_MODEL = "gpt-4.1-mini"
PATH = "/v1/chat/completions"
# A 1x1 PNG: vision requests carry their image inline, so no one fetches anything from outside.
TINY_PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQ"
    "DwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
DONE_EVENT = b"data: [DONE]"
ERROR_EVENT = b'data: {"error"'
TAIL_BYTES = 64
KINDS = ("text", "stream", "vision")


@dataclass(frozen=True, slots=True)
class Options:
    url: str = DEFAULT_URL
    key: str = DEFAULT_KEY
    model: str = DEFAULT_MODEL
    concurrency: int = 64
    duration_s: float = 60.0
    requests: int | None = None
    stream_ratio: float = 0.3
    vision_ratio: float = 0.1
    timeout_s: float = 60.0
    max_error_rate: float = 0.01
    json_path: Path | None = None
    progress: bool = True
    seed: int = 1
    wait_ready_s: float = 10.0


def request_body(kind: str, model: str) -> bytes:
    if kind == "vision":
        content: Any = [
            {"type": "text", "text": "What is in this image?"},
            {"type": "image_url", "image_url": {"url": TINY_PNG}},
        ]
    else:
        content = "Say hello in one short sentence."
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": content}]}
    if kind == "stream":
        body["stream"] = True
    return json.dumps(body, separators=(",", ":")).encode()


@dataclass(slots=True)
class Outcome:
    """What one request came to: `error` is None for a success, else a short label."""

    kind: str
    latency_ms: float
    status: int
    error: str | None = None
    ttft_ms: float | None = None
    provider: str | None = None
    fell_back: bool = False


@dataclass(slots=True)
class Tally:
    """Every outcome so far; the progress line and the summary read it."""

    latencies_ms: list[float] = field(default_factory=list)
    ttfts_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    providers: Counter[str] = field(default_factory=Counter)
    fallbacks: int = 0
    completed: int = 0

    def add(self, outcome: Outcome) -> None:
        self.completed += 1
        self.kinds[outcome.kind] += 1
        self.statuses[outcome.status] += 1
        if outcome.error is not None:
            self.errors[outcome.error] += 1
            return
        self.latencies_ms.append(outcome.latency_ms)
        if outcome.ttft_ms is not None:
            self.ttfts_ms.append(outcome.ttft_ms)
        if outcome.provider is not None:
            self.providers[outcome.provider] += 1
        if outcome.fell_back:
            self.fallbacks += 1

    @property
    def failed(self) -> int:
        return sum(self.errors.values())


def is_fallback(attempts: str | None, provider: str | None) -> bool:
    """Answered by another provider than the first one tried.

    `x-routerx-attempts` is sent only when there was more than one attempt:
    `primary;failure;503,backup;success`. A retry that the first provider answered is no fallback.
    """
    if not attempts or provider is None:
        return False
    first = attempts.split(",", 1)[0].split(";", 1)[0].strip()
    return first != provider


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile of `values` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


class StreamCheck:
    """Watches an SSE body as bytes: the first event's arrival, error events, the final [DONE]."""

    __slots__ = ("error_event", "first_at", "tail")

    def __init__(self) -> None:
        self.first_at: float | None = None
        self.error_event = False
        self.tail = b""

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        if self.first_at is None:
            self.first_at = time.perf_counter()
        window = self.tail + chunk
        if ERROR_EVENT in window:
            self.error_event = True
        self.tail = window[-TAIL_BYTES:]

    def verdict(self) -> str | None:
        if self.error_event:
            return "stream_error_event"
        if not self.tail.rstrip().endswith(DONE_EVENT):
            return "stream_without_done"
        return None


class Schedule:
    """Which kind of request comes next: a seeded draw, so a run's mix is reproducible."""

    def __init__(self, stream_ratio: float, vision_ratio: float, seed: int) -> None:
        self._rng = random.Random(seed)
        self._stream = stream_ratio
        self._vision = vision_ratio

    def next_kind(self) -> str:
        draw = self._rng.random()
        if draw < self._stream:
            return "stream"
        if draw < self._stream + self._vision:
            return "vision"
        return "text"


class LoadTest:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.tally = Tally()
        self.bodies = {kind: request_body(kind, options.model) for kind in KINDS}
        self.headers = {
            "authorization": f"Bearer {options.key}",
            "content-type": "application/json",
        }
        self.endpoint = options.url.rstrip("/") + PATH
        self.schedule = Schedule(options.stream_ratio, options.vision_ratio, options.seed)
        self.started = 0.0
        self.elapsed_s = 0.0
        self._issued = 0
        self._deadline = 0.0

    def _claim(self) -> bool:
        """A worker may send one more request: within the count and before the deadline."""
        if self.options.requests is not None:
            if self._issued >= self.options.requests:
                return False
        elif time.perf_counter() >= self._deadline:
            return False
        self._issued += 1
        return True

    async def _one(self, session: aiohttp.ClientSession, kind: str) -> Outcome:
        started = time.perf_counter()
        try:
            async with session.post(
                self.endpoint, data=self.bodies[kind], headers=self.headers
            ) as response:
                provider = response.headers.get("x-routerx-provider")
                fell_back = is_fallback(response.headers.get("x-routerx-attempts"), provider)
                if response.status != 200:
                    await response.read()
                    return Outcome(kind, _ms(started), response.status, f"http_{response.status}")
                check = StreamCheck() if kind == "stream" else None
                if check is None:
                    body = await response.read()
                    error = None if b'"choices"' in body else "body_without_choices"
                    return Outcome(kind, _ms(started), 200, error, None, provider, fell_back)
                async for chunk in response.content.iter_any():
                    check.feed(chunk)
                ttft = None if check.first_at is None else (check.first_at - started) * 1000
                return Outcome(kind, _ms(started), 200, check.verdict(), ttft, provider, fell_back)
        except TimeoutError:
            return Outcome(kind, _ms(started), 0, "timeout")
        except aiohttp.ClientPayloadError:
            return Outcome(kind, _ms(started), 200, "stream_broken")
        except aiohttp.ClientError as error:
            return Outcome(kind, _ms(started), 0, f"connection:{type(error).__name__}")

    async def _worker(self, session: aiohttp.ClientSession) -> None:
        while self._claim():
            self.tally.add(await self._one(session, self.schedule.next_kind()))

    async def run(self) -> Tally:
        options = self.options
        connector = aiohttp.TCPConnector(
            limit=options.concurrency, limit_per_host=options.concurrency, force_close=False
        )
        timeout = aiohttp.ClientTimeout(total=options.timeout_s)
        async with aiohttp.ClientSession(
            connector=connector, timeout=timeout, trust_env=False, auto_decompress=False
        ) as session:
            await wait_ready(session, options.url, options.wait_ready_s)
            self.started = time.perf_counter()
            self._deadline = self.started + options.duration_s
            workers = [
                asyncio.create_task(self._worker(session)) for _ in range(options.concurrency)
            ]
            progress = asyncio.create_task(self._progress()) if options.progress else None
            try:
                await asyncio.gather(*workers)
            finally:
                self.elapsed_s = time.perf_counter() - self.started
                if progress is not None:
                    progress.cancel()
                    await asyncio.gather(progress, return_exceptions=True)
                    sys.stderr.write("\n")
        return self.tally

    async def _progress(self) -> None:
        interactive = sys.stderr.isatty()
        interval = 0.5 if interactive else 5.0
        while True:
            await asyncio.sleep(interval)
            line = progress_line(self, time.perf_counter() - self.started)
            sys.stderr.write(("\r" + line) if interactive else (line + "\n"))
            sys.stderr.flush()


class NotReady(Exception):
    """The gateway did not answer GET /readyz with 200 in time."""


async def wait_ready(session: aiohttp.ClientSession, url: str, wait_s: float) -> None:
    """Poll GET /readyz until it answers 200, so that start-up is not counted as errors."""
    deadline = time.monotonic() + wait_s
    last = "no answer"
    while True:
        try:
            async with session.get(url.rstrip("/") + "/readyz") as response:
                if response.status == 200:
                    return
                last = f"status {response.status}"
        except (aiohttp.ClientError, TimeoutError) as error:
            last = type(error).__name__
        if time.monotonic() >= deadline:
            raise NotReady(f"{url} is not ready after {wait_s:g} s ({last}); is it running?")
        await asyncio.sleep(0.2)


def progress_line(test: LoadTest, elapsed_s: float, width: int = 30) -> str:
    options, tally = test.options, test.tally
    if options.requests is not None:
        done = tally.completed / max(1, options.requests)
    else:
        done = elapsed_s / max(options.duration_s, 1e-9)
    done = min(1.0, done)
    filled = int(done * width)
    bar = "#" * filled + "-" * (width - filled)
    rate = tally.completed / elapsed_s if elapsed_s > 0 else 0.0
    return (
        f"[{bar}] {done * 100:5.1f}%  {elapsed_s:6.1f}s  {tally.completed:>8} req  "
        f"{rate:8.1f} req/s  {tally.failed} errors"
    )


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def summarize(tally: Tally, elapsed_s: float, options: Options) -> dict[str, Any]:
    """Everything the run measured, as plain data (the JSON report is exactly this)."""
    completed = tally.completed
    error_rate = tally.failed / completed if completed else 1.0
    succeeded = completed - tally.failed
    return {
        "target": options.url,
        "model": options.model,
        "concurrency": options.concurrency,
        "duration_s": round(elapsed_s, 3),
        "mix": {kind: tally.kinds.get(kind, 0) for kind in KINDS},
        "requests": completed,
        "succeeded": succeeded,
        "failed": tally.failed,
        "requests_per_s": round(completed / elapsed_s, 2) if elapsed_s > 0 else 0.0,
        "latency_ms": {
            f"p{pct}": _rounded(percentile(tally.latencies_ms, pct)) for pct in (50, 95, 99)
        },
        "ttft_ms": {f"p{pct}": _rounded(percentile(tally.ttfts_ms, pct)) for pct in (50, 95, 99)},
        "error_rate": round(error_rate, 6),
        "errors": dict(sorted(tally.errors.items())),
        "statuses": {str(status): count for status, count in sorted(tally.statuses.items())},
        "fallback_rate": round(tally.fallbacks / succeeded, 6) if succeeded else 0.0,
        "providers": dict(tally.providers.most_common()),
        "max_error_rate": options.max_error_rate,
        "passed": completed > 0 and error_rate <= options.max_error_rate,
    }


def _fmt(value: Any, unit: str = "") -> str:
    return "-" if value is None else f"{value}{unit}"


def render(summary: dict[str, Any]) -> str:
    latency, ttft = summary["latency_ms"], summary["ttft_ms"]
    mix = ", ".join(f"{kind} {count}" for kind, count in summary["mix"].items())
    rows = [
        ("target", f"{summary['target']}  model {summary['model']}"),
        ("connections", str(summary["concurrency"])),
        ("duration", f"{summary['duration_s']} s"),
        ("requests", f"{summary['requests']} ({mix})"),
        ("requests/s", str(summary["requests_per_s"])),
        (
            "latency p50/p95/p99",
            " / ".join(_fmt(latency[p], " ms") for p in ("p50", "p95", "p99")),
        ),
        (
            "stream TTFT p50/p95/p99",
            " / ".join(_fmt(ttft[p], " ms") for p in ("p50", "p95", "p99")),
        ),
        ("error rate", f"{summary['error_rate'] * 100:.3f} % ({summary['failed']} failed)"),
        ("statuses", ", ".join(f"{s}: {n}" for s, n in summary["statuses"].items()) or "-"),
        ("errors", ", ".join(f"{e}: {n}" for e, n in summary["errors"].items()) or "none"),
        ("fallback rate", f"{summary['fallback_rate'] * 100:.3f} %"),
        ("providers", ", ".join(f"{p}: {n}" for p, n in summary["providers"].items()) or "-"),
        (
            "result",
            ("PASS" if summary["passed"] else "FAIL")
            + f" (max error rate {summary['max_error_rate'] * 100:g} %)",
        ),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name.ljust(width)}  {value}" for name, value in rows)


def _ratio(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="loadtest", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--url", default=DEFAULT_URL, help="gateway base URL (%(default)s)")
    parser.add_argument("--key", default=DEFAULT_KEY, help="API key (the seed's demo key)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="model (%(default)s)")
    parser.add_argument("-c", "--concurrency", type=_positive_int, default=64)
    parser.add_argument("-d", "--duration", type=float, default=60.0, help="seconds (60)")
    parser.add_argument(
        "-n", "--requests", type=_positive_int, default=None, help="a request count instead"
    )
    parser.add_argument("--stream-ratio", type=_ratio, default=0.3, help="share of streams (0.3)")
    parser.add_argument("--vision-ratio", type=_ratio, default=0.1, help="share of vision (0.1)")
    parser.add_argument("--timeout", type=float, default=60.0, help="per request, seconds (60)")
    parser.add_argument("--max-error-rate", type=_ratio, default=0.01, help="exit 1 above (0.01)")
    parser.add_argument("--json", type=Path, default=None, help="also write the summary here")
    parser.add_argument("--no-progress", action="store_true", help="no progress line on stderr")
    parser.add_argument("--seed", type=int, default=1, help="seed of the request mix (1)")
    parser.add_argument(
        "--wait-ready", type=float, default=10.0, help="seconds to wait for GET /readyz (10)"
    )
    args = parser.parse_args(argv)
    if args.stream_ratio + args.vision_ratio > 1.0:
        parser.error("--stream-ratio plus --vision-ratio must not exceed 1")
    if args.requests is None and args.duration <= 0:
        parser.error("--duration must be positive")
    return Options(
        url=args.url,
        key=args.key,
        model=args.model,
        concurrency=args.concurrency,
        duration_s=args.duration,
        requests=args.requests,
        stream_ratio=args.stream_ratio,
        vision_ratio=args.vision_ratio,
        timeout_s=args.timeout,
        max_error_rate=args.max_error_rate,
        json_path=args.json,
        progress=not args.no_progress,
        seed=args.seed,
        wait_ready_s=args.wait_ready,
    )


def _event_loop_runner() -> Any:
    try:
        import uvloop
    except ImportError:
        return asyncio.run
    return uvloop.run


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    test = LoadTest(options)
    try:
        tally = _event_loop_runner()(test.run())
    except NotReady as not_ready:
        sys.stderr.write(f"loadtest: {not_ready}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("\ninterrupted: summary of the requests completed so far\n")
        tally = test.tally
        test.elapsed_s = test.elapsed_s or (time.perf_counter() - test.started)
    summary = summarize(tally, test.elapsed_s, options)
    print(render(summary))
    if options.json_path is not None:
        options.json_path.parent.mkdir(parents=True, exist_ok=True)
        options.json_path.write_text(json.dumps(summary, indent=2) + "\n")
    return 0 if summary["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
