"""Run wrk with lua/chat.lua and read its result."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

LUA_SCRIPT = Path(__file__).resolve().parent / "lua" / "chat.lua"
RESULT_LINE = re.compile(r"^BENCH_RESULT (?P<pairs>.+)$", re.MULTILINE)
WRK_THREADS_MAX = 2


class WrkError(RuntimeError):
    """wrk failed or printed no result line."""


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests: int
    duration_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    bad_status: int
    bad_body: int
    socket_errors: int

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def errors(self) -> int:
        """Bad statuses, bad bodies and socket errors (connect, read, write, timeout)."""
        return self.bad_status + self.bad_body + self.socket_errors


def parse_output(text: str) -> WrkResult:
    """Read the BENCH_RESULT line that lua/chat.lua's done() prints."""
    match = RESULT_LINE.search(text)
    if match is None:
        raise WrkError("no BENCH_RESULT line in wrk's output:\n" + text[-2000:])
    values: dict[str, int] = {}
    for pair in match.group("pairs").split():
        key, _, value = pair.partition("=")
        values[key] = int(value)
    return WrkResult(
        requests=values["requests"],
        duration_s=values["duration_us"] / 1e6,
        p50_ms=values["p50_us"] / 1000,
        p90_ms=values["p90_us"] / 1000,
        p99_ms=values["p99_us"] / 1000,
        max_ms=values["max_us"] / 1000,
        bad_status=values["bad_status"],
        bad_body=values["bad_body"],
        socket_errors=sum(values[key] for key in ("connect", "read", "write", "timeout")),
    )


def command(
    url: str,
    connections: int,
    duration_s: float,
    model: str,
    stream: bool,
    api_key: str = "",
    timeout_s: float = 10.0,
) -> list[str]:
    threads = max(1, min(WRK_THREADS_MAX, connections))
    return [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",  # wrk takes whole seconds
        f"--timeout={timeout_s:g}s",
        "-s",
        str(LUA_SCRIPT),
        url,
        "--",
        model,
        "stream" if stream else "json",
        api_key,
    ]


def run(argv: list[str]) -> WrkResult:
    completed = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603
    if completed.returncode != 0:
        raise WrkError(f"wrk exited {completed.returncode}: {completed.stderr.strip()}")
    return parse_output(completed.stdout)
