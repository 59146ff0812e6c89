"""Aggregate the benchmark's runs (medians over repetitions) and write the markdown report."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass

MODES = ("json", "stream")
MODE_NAMES = {"json": "non-stream", "stream": "stream (16 chunks)"}
FLOOR_CPU_LIMIT = 1.5  # "ship within 1.5x of the floor with everything on"


@dataclass(frozen=True, slots=True)
class Sample:
    """One wrk run against one target."""

    target: str
    mode: str
    connections: int
    rep: int
    requests: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_s: float
    peak_rss_bytes: int

    @property
    def cpu_ms_per_request(self) -> float | None:
        return self.cpu_s * 1000 / self.requests if self.requests else None


@dataclass(frozen=True, slots=True)
class Cell:
    """The medians of one (target, mode, connections) over its repetitions."""

    target: str
    mode: str
    connections: int
    reps: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    cpu_ms_per_request: float | None
    errors: int
    requests: int


Key = tuple[str, str, int]


def aggregate(samples: Iterable[Sample]) -> dict[Key, Cell]:
    groups: dict[Key, list[Sample]] = {}
    for sample in samples:
        groups.setdefault((sample.target, sample.mode, sample.connections), []).append(sample)
    cells: dict[Key, Cell] = {}
    for key, group in groups.items():
        cpu = [c for c in (s.cpu_ms_per_request for s in group) if c is not None]
        cells[key] = Cell(
            target=key[0],
            mode=key[1],
            connections=key[2],
            reps=len(group),
            requests_per_s=statistics.median(s.requests_per_s for s in group),
            p50_ms=statistics.median(s.p50_ms for s in group),
            p99_ms=statistics.median(s.p99_ms for s in group),
            cpu_ms_per_request=statistics.median(cpu) if cpu else None,
            errors=sum(s.errors for s in group),
            requests=sum(s.requests for s in group),
        )
    return cells


def peak_rss_mb(samples: Iterable[Sample]) -> dict[str, float]:
    peaks: dict[str, float] = {}
    for sample in samples:
        mb = sample.peak_rss_bytes / 2**20
        peaks[sample.target] = max(peaks.get(sample.target, 0.0), mb)
    return peaks


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def _num(value: float | None, digits: int = 0, suffix: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}{suffix}"


def _added(cells: dict[Key, Cell], target: str, mode: str, connections: int) -> float | None:
    cell, direct = cells.get((target, mode, connections)), cells.get(("direct", mode, connections))
    if cell is None or direct is None:
        return None
    return cell.p50_ms - direct.p50_ms


def _conns(count: int) -> str:
    return f"{count} conn" if count == 1 else f"{count} conns"


@dataclass(frozen=True, slots=True)
class VsFloor:
    """RouterX against the floor of its stack at one (mode, connections); None where either
    side is missing a figure."""

    mode: str
    connections: int
    requests_per_s: float | None  # RouterX req/s / floor req/s
    cpu: float | None  # RouterX CPU ms/req / floor CPU ms/req
    added_p50_ms: float | None  # RouterX added p50 - floor added p50


def vs_floor(cells: dict[Key, Cell], mode: str, connections: int) -> VsFloor | None:
    rx, floor = cells.get(("routerx", mode, connections)), cells.get(("floor", mode, connections))
    if rx is None or floor is None:
        return None
    rx_added, floor_added = (
        _added(cells, "routerx", mode, connections),
        _added(cells, "floor", mode, connections),
    )
    return VsFloor(
        mode=mode,
        connections=connections,
        requests_per_s=ratio(rx.requests_per_s, floor.requests_per_s),
        cpu=ratio(rx.cpu_ms_per_request, floor.cpu_ms_per_request),
        added_p50_ms=None if rx_added is None or floor_added is None else rx_added - floor_added,
    )


def worst_cpu_vs_floor(cells: dict[Key, Cell], mode: str) -> VsFloor | None:
    """The connection count where RouterX's CPU per request is furthest above the floor's."""
    counts = sorted({connections for (_, m, connections) in cells if m == mode})
    rows = [vs_floor(cells, mode, count) for count in counts]
    measured = [row for row in rows if row is not None and row.cpu is not None]
    return max(measured, key=lambda row: row.cpu or 0.0, default=None)


@dataclass(frozen=True, slots=True)
class Goal:
    name: str
    measured: str
    met: bool | None  # None: not measured in this run


def goals(cells: dict[Key, Cell], rss: dict[str, float]) -> list[Goal]:
    """The issue's targets for RouterX, checked against this run."""
    found: list[Goal] = []
    for mode in MODES:
        for connections in (16, 64):
            rx, lite = (
                cells.get(("routerx", mode, connections)),
                cells.get(("litellm", mode, connections)),
            )
            times = ratio(rx.requests_per_s if rx else None, lite.requests_per_s if lite else None)
            found.append(
                Goal(
                    f"RPS >= 10x LiteLLM, {MODE_NAMES[mode]}, {connections} conns",
                    _num(times, 1, "x"),
                    None if times is None else times >= 10,
                )
            )
    for mode, limit in (("json", 1.0), ("stream", 2.0)):
        added = _added(cells, "routerx", mode, 1)
        found.append(
            Goal(
                f"added p50 <= {limit:g} ms, {MODE_NAMES[mode]}, 1 conn",
                _num(added, 2, " ms"),
                None if added is None else added <= limit,
            )
        )
    cpu = [
        cell.cpu_ms_per_request
        for (target, mode, _), cell in cells.items()
        if target == "routerx" and mode == "json" and cell.cpu_ms_per_request is not None
    ]
    worst = max(cpu) if cpu else None
    found.append(
        Goal(
            "gateway CPU <= 0.5 ms per non-stream request (worst connection count)",
            _num(worst, 3, " ms"),
            None if worst is None else worst <= 0.5,
        )
    )
    for mode in MODES:
        row = worst_cpu_vs_floor(cells, mode)
        cpu_times = None if row is None else row.cpu
        found.append(
            Goal(
                f"gateway CPU per request <= {FLOOR_CPU_LIMIT:g}x the floor's, "
                f"{MODE_NAMES[mode]} (worst connection count)",
                _num(cpu_times, 2, "x") + ("" if row is None else f" at {_conns(row.connections)}"),
                None if cpu_times is None else cpu_times <= FLOOR_CPU_LIMIT,
            )
        )
    share = ratio(rss.get("routerx"), rss.get("litellm"))
    found.append(
        Goal(
            "peak RSS <= 1/3 of LiteLLM's",
            _num(share, 2, "x LiteLLM's"),
            None if share is None else share <= 1 / 3,
        )
    )
    return found


def render(
    samples: list[Sample], title_notes: list[str], connections: list[int], targets: list[str]
) -> str:
    cells = aggregate(samples)
    rss = peak_rss_mb(samples)
    reps = max((cell.reps for cell in cells.values()), default=0)
    lines = [
        "# RouterX vs the floor of its stack and LiteLLM: `make bench`",
        "",
        *title_notes,
        "",
        f"Medians of {reps} interleaved repetition(s); every response checked (status 200, a",
        "non-stream body with `choices`, a stream ending in `data: [DONE]`). Added p50 is over",
        "the mock upstream measured directly at the same connection count. CPU is the server's",
        "processes' utime+stime per completed request.",
        "",
        "| target | mode | conns | req/s | p50 ms | p99 ms | added p50 ms | CPU ms/req | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for mode in MODES:
        for count in connections:
            for target in targets:
                cell = cells.get((target, mode, count))
                if cell is None:
                    continue
                added = None if target == "direct" else _added(cells, target, mode, count)
                lines.append(
                    f"| {target} | {MODE_NAMES[mode]} | {count} | {_num(cell.requests_per_s)} "
                    f"| {_num(cell.p50_ms, 2)} | {_num(cell.p99_ms, 2)} | {_num(added, 2)} "
                    f"| {_num(cell.cpu_ms_per_request, 3)} | {cell.errors} |"
                )
    floor_rows = []
    for mode in MODES:
        for count in connections:
            row = vs_floor(cells, mode, count)
            if row is None:
                continue
            floor_rows.append(
                f"| {MODE_NAMES[mode]} | {count} | {_num(row.requests_per_s, 2, 'x')} "
                f"| {_num(row.cpu, 2, 'x')} | {_num(row.added_p50_ms, 2, ' ms')} |"
            )
    if floor_rows:
        lines += [
            "",
            "RouterX vs the floor (the bare pass-through on the same stack, same run):",
            "",
            "| mode | conns | RouterX / floor req/s | RouterX / floor CPU per request "
            "| RouterX - floor added p50 |",
            "|---|---:|---:|---:|---:|",
            *floor_rows,
        ]
    ratio_rows = []
    for mode in MODES:
        for count in connections:
            rx, lite = cells.get(("routerx", mode, count)), cells.get(("litellm", mode, count))
            if rx is None or lite is None:
                continue
            ratio_rows.append(
                f"| {MODE_NAMES[mode]} | {count} "
                f"| {_num(ratio(rx.requests_per_s, lite.requests_per_s), 1, 'x')} "
                f"| {_num(ratio(lite.cpu_ms_per_request, rx.cpu_ms_per_request), 1, 'x')} |"
            )
    if ratio_rows:
        lines += [
            "",
            "RouterX vs LiteLLM:",
            "",
            "| mode | conns | RouterX / LiteLLM req/s | LiteLLM / RouterX CPU per request |",
            "|---|---:|---:|---:|",
            *ratio_rows,
        ]
    lines += [
        "",
        "Peak RSS, all of a server's processes: "
        + ", ".join(f"{name} {_num(mb, 0)} MB" for name, mb in sorted(rss.items())),
        "",
        "| RouterX goal | measured | met |",
        "|---|---:|---|",
    ]
    for goal in goals(cells, rss):
        met = "not measured" if goal.met is None else ("yes" if goal.met else "**no**")
        lines.append(f"| {goal.name} | {goal.measured} | {met} |")
    return "\n".join(lines) + "\n"
