"""Mutation testing of RouterX's critical modules: does the suite notice when the code is wrong?

Each mutant is one small change to one module (a comparison flipped, an operator swapped, a
constant moved by one, an enum member swapped for a sibling, a statement removed, a condition
negated). The module's related tests run against every mutant; a mutant is *killed* when they
fail and *survives* when they pass. Survivors are either missing tests or equivalent mutants
(the change does not alter behaviour); the report lists each one with its line.

The tests run against a scratch copy of `backend/src` put first on PYTHONPATH, so the gateway and
admin processes the tests start import the mutated code too (a plain in-process mutation tool
cannot reach them). A baseline run must pass, and a mutant that breaks the module at import must
be killed, before any score is reported.

    python scripts/mutation.py                      # every module
    python scripts/mutation.py --module breaker     # one module
    python scripts/mutation.py --list --module window
"""

from __future__ import annotations

import argparse
import ast
import copy
import enum
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

BACKEND = Path(__file__).resolve().parent.parent / "backend"


@dataclass(frozen=True)
class Target:
    module: str  # dotted name under backend/src
    tests: tuple[str, ...]  # test paths relative to backend/

    @property
    def path(self) -> Path:
        return Path("src", *self.module.split(".")).with_suffix(".py")


TARGETS: dict[str, Target] = {
    "breaker": Target(
        "routerx.routing.breaker",
        ("tests/routing/test_breaker.py", "tests/routing/test_breaker_shared.py"),
    ),
    "attempt": Target(
        "routerx.routing.attempt",
        (
            "tests/routing/test_attempt.py",
            "tests/routing/test_fallback.py",
            "tests/routing/test_failover.py",
        ),
    ),
    "fallback": Target(
        "routerx.routing.fallback",
        (
            "tests/routing/test_fallback.py",
            "tests/routing/test_attempt.py",
            "tests/routing/test_failover.py",
        ),
    ),
    "window": Target(
        "routerx.limits.window",
        ("tests/limits/test_limiter.py", "tests/limits/test_shared.py"),
    ),
    "chat-front": Target(
        "routerx.gateway.fronts.chat",
        ("tests/gateway/test_pipeline_seam.py", "tests/gateway/test_streaming.py"),
    ),
}

COMPARE_SWAPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}
BINOP_SWAPS: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.FloorDiv: ast.Div,
    ast.Mod: ast.FloorDiv,
}
LOG_NAMES = frozenset({"log", "logger", "logging"})


@dataclass(frozen=True)
class Mutant:
    index: int  # position of the mutated node in ast.walk order
    variant: str
    line: int
    description: str


@dataclass
class Result:
    mutant: Mutant
    outcome: str  # killed | survived | timeout
    seconds: float


@dataclass
class ModuleReport:
    name: str
    results: list[Result] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)

    @property
    def score(self) -> float:
        total = len(self.results)
        return 100.0 * (total - self.count("survived")) / total if total else 100.0


def _skipped_nodes(tree: ast.Module) -> set[int]:
    """Nodes no mutant touches: annotations, docstrings, logging calls, `__all__`."""
    skipped: set[int] = set()

    def skip(node: ast.AST | None) -> None:
        if node is not None:
            skipped.update(id(child) for child in ast.walk(node))

    for node in ast.walk(tree):
        if isinstance(node, ast.arg | ast.AnnAssign):
            skip(node.annotation)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            skip(node.returns)
            for decorator in node.decorator_list:
                skip(decorator)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                skip(body[0])
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if isinstance(owner, ast.Name) and owner.id in LOG_NAMES:
                skip(node)
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            skip(node)
        if isinstance(node, ast.ImportFrom | ast.Import):
            skip(node)
    return skipped


def _enum_siblings(module_name: str) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Enum classes of the module (member names by class) and module-level aliases of members
    (alias names by the alias, siblings being the other aliases of the same enum)."""
    module = importlib.import_module(module_name)
    classes: dict[str, list[str]] = {}
    aliases_by_enum: dict[type[enum.Enum], list[str]] = {}
    for name, value in vars(module).items():
        if (
            isinstance(value, type)
            and issubclass(value, enum.Enum)
            and value.__module__ == module_name
        ):
            classes[name] = [member.name for member in value]
        elif isinstance(value, enum.Enum):
            aliases_by_enum.setdefault(type(value), []).append(name)
    aliases: dict[str, list[str]] = {}
    for names in aliases_by_enum.values():
        for name in names:
            aliases[name] = [other for other in names if other != name]
    return classes, aliases


def _constant_variants(value: object) -> list[tuple[str, object]]:
    if isinstance(value, bool):
        return [("not", not value)]
    if isinstance(value, int):
        return [("plus1", value + 1)] if value != 1 else [("zero", 0), ("two", 2)]
    if isinstance(value, float):
        return [("double", value * 2 if value else 1.0)]
    return []


def enumerate_mutants(tree: ast.Module, module_name: str) -> list[Mutant]:
    skipped = _skipped_nodes(tree)
    classes, aliases = _enum_siblings(module_name)
    mutants: list[Mutant] = []

    def add(index: int, node: ast.AST, variant: str, description: str) -> None:
        mutants.append(Mutant(index, variant, getattr(node, "lineno", 0), description))

    for index, node in enumerate(ast.walk(tree)):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Compare):
            for position, op in enumerate(node.ops):
                swap = COMPARE_SWAPS.get(type(op))
                if swap is not None:
                    add(index, node, f"cmp{position}", f"{type(op).__name__} -> {swap.__name__}")
        elif isinstance(node, ast.BinOp | ast.AugAssign):
            swap_op = BINOP_SWAPS.get(type(node.op))
            if swap_op is not None:
                add(index, node, "binop", f"{type(node.op).__name__} -> {swap_op.__name__}")
            if isinstance(node, ast.AugAssign):
                add(index, node, "drop", "augmented assignment removed")
        elif isinstance(node, ast.BoolOp):
            other = "Or" if isinstance(node.op, ast.And) else "And"
            add(index, node, "boolop", f"{type(node.op).__name__} -> {other}")
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            add(index, node, "unnot", "`not` removed")
        elif isinstance(node, ast.Constant) and not isinstance(node.value, str | bytes):
            for variant, value in _constant_variants(node.value):
                add(index, node, f"const:{variant}", f"{node.value!r} -> {value!r}")
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            for sibling in classes.get(node.value.id, []):
                if sibling != node.attr:
                    add(
                        index, node, f"enum:{sibling}", f"{node.value.id}.{node.attr} -> .{sibling}"
                    )
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in aliases:
            for sibling in aliases[node.id]:
                add(index, node, f"alias:{sibling}", f"{node.id} -> {sibling}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in {"min", "max"}
        ):
            other = "max" if node.func.id == "min" else "min"
            add(index, node, "minmax", f"{node.func.id} -> {other}")
        if isinstance(node, ast.If | ast.While) and id(node.test) not in skipped:
            add(index, node, "negate", "condition negated")
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call | ast.Await):
            add(index, node, "drop", "call statement removed")
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Attribute) for t in node.targets):
            add(index, node, "drop", "attribute assignment removed")
        if isinstance(node, ast.Return) and node.value is not None:
            add(index, node, "return-none", "returns None")
    return mutants


def apply(tree: ast.Module, mutant: Mutant) -> str:
    mutated = copy.deepcopy(tree)
    node = list(ast.walk(mutated))[mutant.index]
    variant = mutant.variant
    replacement: ast.AST | None = None
    if variant.startswith("cmp"):
        assert isinstance(node, ast.Compare)
        position = int(variant[3:])
        node.ops[position] = COMPARE_SWAPS[type(node.ops[position])]()
    elif variant == "binop":
        assert isinstance(node, ast.BinOp | ast.AugAssign)
        node.op = BINOP_SWAPS[type(node.op)]()
    elif variant == "boolop":
        assert isinstance(node, ast.BoolOp)
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif variant == "unnot":
        assert isinstance(node, ast.UnaryOp)
        replacement = node.operand
    elif variant.startswith("const:"):
        assert isinstance(node, ast.Constant)
        wanted = variant.split(":", 1)[1]
        value = dict(_constant_variants(node.value))[wanted]
        assert isinstance(value, bool | int | float)
        node.value = value
    elif variant.startswith("enum:"):
        assert isinstance(node, ast.Attribute)
        node.attr = variant.split(":", 1)[1]
    elif variant.startswith("alias:"):
        assert isinstance(node, ast.Name)
        node.id = variant.split(":", 1)[1]
    elif variant == "minmax":
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        node.func.id = "max" if node.func.id == "min" else "min"
    elif variant == "negate":
        assert isinstance(node, ast.If | ast.While)
        node.test = ast.UnaryOp(op=ast.Not(), operand=node.test)
    elif variant == "drop":
        replacement = ast.Pass()
    elif variant == "return-none":
        assert isinstance(node, ast.Return)
        node.value = ast.Constant(value=None)
    if replacement is not None:
        _replace(mutated, node, replacement)
    return ast.unparse(ast.fix_missing_locations(mutated))


def _replace(tree: ast.AST, old: ast.AST, new: ast.AST) -> None:
    for parent in ast.walk(tree):
        for name, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, name, new)
                return
            if isinstance(value, list) and any(item is old for item in value):
                value[[id(item) for item in value].index(id(old))] = new
                return
    raise LookupError("mutated node has no parent")


class Scratch:
    """A copy of backend/src that the tests import instead of the real one."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="routerx-mutation-"))
        shutil.copytree(BACKEND / "src", self.root / "src")

    def write(self, target: Target, source: str) -> None:
        (self.root / target.path).write_text(source)
        for cache in (self.root / target.path).parent.glob("__pycache__"):
            shutil.rmtree(cache, ignore_errors=True)

    def restore(self, target: Target) -> None:
        self.write(target, (BACKEND / target.path).read_text())

    def run_tests(self, target: Target, timeout_s: float) -> tuple[str, float]:
        env = dict(os.environ, PYTHONPATH=str(self.root / "src"), PYTHONDONTWRITEBYTECODE="1")
        command = [
            str(BACKEND / ".venv" / "bin" / "pytest"),
            "-x",
            "-q",
            "-p",
            "no:cacheprovider",
            "--timeout",
            str(int(timeout_s)),
            *target.tests,
        ]
        started = time.monotonic()
        try:
            done = subprocess.run(  # noqa: S603 (our own pytest, fixed arguments)
                command, cwd=BACKEND, env=env, capture_output=True, timeout=timeout_s, check=False
            )
        except subprocess.TimeoutExpired:
            return "timeout", time.monotonic() - started
        outcome = "survived" if done.returncode == 0 else "killed"
        return outcome, time.monotonic() - started

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def run_module(name: str, target: Target, scratch: Scratch, limit: int | None) -> ModuleReport:
    source = (BACKEND / target.path).read_text()
    tree = ast.parse(source)
    mutants = enumerate_mutants(tree, target.module)[:limit]
    report = ModuleReport(name)
    outcome, baseline_s = scratch.run_tests(target, timeout_s=900)
    if outcome != "survived":
        raise SystemExit(f"{name}: the related tests fail without any mutant; fix them first")
    scratch.write(target, source + "\nraise RuntimeError('mutation sanity check')\n")
    sanity, _ = scratch.run_tests(target, timeout_s=900)
    if sanity == "survived":
        raise SystemExit(f"{name}: the tests do not import the scratch copy; nothing would count")
    timeout_s = baseline_s * 3 + 20
    print(f"{name}: {len(mutants)} mutants, baseline {baseline_s:.1f} s", flush=True)
    try:
        for number, mutant in enumerate(mutants, 1):
            scratch.write(target, apply(tree, mutant))
            outcome, seconds = scratch.run_tests(target, timeout_s)
            report.results.append(Result(mutant, outcome, seconds))
            mark = {"killed": ".", "timeout": "t", "survived": "S"}[outcome]
            print(mark, end="" if number % 60 else "\n", flush=True)
    finally:
        scratch.restore(target)
    print()
    return report


def survivors(report: ModuleReport) -> Iterator[str]:
    for result in report.results:
        if result.outcome == "survived":
            mutant = result.mutant
            yield f"  {TARGETS[report.name].path}:{mutant.line}: {mutant.description}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--module", action="append", choices=sorted(TARGETS), help="repeatable")
    parser.add_argument("--limit", type=int, help="at most this many mutants per module")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument("--json", type=Path, help="write the full report here")
    args = parser.parse_args()
    sys.path.insert(0, str(BACKEND / "src"))
    names = args.module or list(TARGETS)
    if args.list:
        for name in names:
            target = TARGETS[name]
            tree = ast.parse((BACKEND / target.path).read_text())
            for mutant in enumerate_mutants(tree, target.module)[: args.limit]:
                print(f"{name} {target.path}:{mutant.line}: {mutant.description}")
        return 0
    scratch = Scratch()
    reports: list[ModuleReport] = []
    try:
        for name in names:
            reports.append(run_module(name, TARGETS[name], scratch, args.limit))
    finally:
        scratch.close()
    print("\nmodule          mutants  killed  timeout  survived  score")
    for report in reports:
        print(
            f"{report.name:<15} {len(report.results):>7} {report.count('killed'):>7}"
            f" {report.count('timeout'):>8} {report.count('survived'):>9} {report.score:>5.1f} %"
        )
    for report in reports:
        lines = list(survivors(report))
        if lines:
            print(f"\nsurvivors in {report.name}:")
            print("\n".join(lines))
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    report.name: {
                        "score": round(report.score, 1),
                        "results": [
                            {
                                "line": r.mutant.line,
                                "mutation": r.mutant.description,
                                "outcome": r.outcome,
                                "seconds": round(r.seconds, 2),
                            }
                            for r in report.results
                        ],
                    }
                    for report in reports
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
