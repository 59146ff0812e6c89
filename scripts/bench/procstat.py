"""CPU time and resident memory of a server's processes, read from /proc.

A server is a root process and its descendants (hypercorn or uvicorn workers). CPU time is the
sum of utime + stime + cutime + cstime over the tree: a child reaped during a run moves its time
into its parent's cutime/cstime, so the sum keeps it. RSS is the sum of resident pages.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True, slots=True)
class ProcStat:
    """The fields of /proc/<pid>/stat the benchmark uses (times in clock ticks)."""

    pid: int
    ppid: int
    utime: int
    stime: int
    cutime: int
    cstime: int

    @property
    def ticks(self) -> int:
        return self.utime + self.stime + self.cutime + self.cstime


def parse_stat(text: str) -> ProcStat:
    """Parse one /proc/<pid>/stat line. The command name may hold spaces and parentheses, so
    the fields are counted from the last ')'."""
    pid_text, _, rest = text.partition(" (")
    fields = rest[rest.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state): ppid is field 4, utime..cstime are fields 14..17.
    return ProcStat(
        pid=int(pid_text),
        ppid=int(fields[1]),
        utime=int(fields[11]),
        stime=int(fields[12]),
        cutime=int(fields[13]),
        cstime=int(fields[14]),
    )


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None


def all_stats(proc: Path = PROC) -> dict[int, ProcStat]:
    stats: dict[int, ProcStat] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        text = _read(entry / "stat")
        if text:
            stat = parse_stat(text)
            stats[stat.pid] = stat
    return stats


def tree(root: int, stats: dict[int, ProcStat]) -> list[ProcStat]:
    """`root` and every descendant found in `stats`."""
    children: dict[int, list[int]] = {}
    for stat in stats.values():
        children.setdefault(stat.ppid, []).append(stat.pid)
    found: list[ProcStat] = []
    pending = [root]
    while pending:
        pid = pending.pop()
        if pid in stats:
            found.append(stats[pid])
        pending.extend(children.get(pid, []))
    return found


def cpu_seconds(roots: Iterable[int], proc: Path = PROC) -> float:
    """CPU time used so far by the processes under `roots`, in seconds."""
    stats = all_stats(proc)
    ticks = sum(stat.ticks for root in roots for stat in tree(root, stats))
    return ticks / CLOCK_TICKS


def parse_statm_rss(text: str) -> int:
    """Resident bytes from a /proc/<pid>/statm line (its second field counts pages)."""
    return int(text.split()[1]) * PAGE_SIZE


def rss_bytes(roots: Iterable[int], proc: Path = PROC) -> int:
    stats = all_stats(proc)
    total = 0
    for root in roots:
        for stat in tree(root, stats):
            text = _read(proc / str(stat.pid) / "statm")
            if text:
                total += parse_statm_rss(text)
    return total


class PeakSampler:
    """Samples a reading in a background thread and keeps its largest value."""

    def __init__(self, read: Callable[[], int], interval_s: float = 0.25) -> None:
        self._read = read
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.peak = 0

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._read())
            self._stop.wait(self._interval_s)

    def __enter__(self) -> PeakSampler:
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.peak = max(self.peak, self._read())
