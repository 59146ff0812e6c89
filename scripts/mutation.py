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
import contextlib
import copy
import importlib
import json
import os
import shutil
import signal
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
    tests: tuple[str, ...]  # test paths relative to backend/, the quick unit tests first

    @property
    def path(self) -> Path:
        return Path("src", *self.module.split(".")).with_suffix(".py")


TARGETS: dict[str, Target] = {
    "breaker": Target(
        "routerx.routing.breaker",
        (
            "tests/routing/test_breaker_mutants.py",
            "tests/routing/test_breaker.py",
        ),  # not test_breaker_shared.py: its racing test times out on a loaded machine
    ),
    "attempt": Target(
        "routerx.routing.attempt",
        (
            "tests/routing/test_attempt.py",
            "tests/routing/test_attempt_mutants.py",
            "tests/routing/test_fallback.py",
            "tests/routing/test_fallback_mutants.py",
        ),  # not test_failover.py: its gateway processes miss their start-up deadline under load
    ),
    "fallback": Target(
        "routerx.routing.fallback",
        (
            "tests/routing/test_fallback.py",
            "tests/routing/test_fallback_mutants.py",
            "tests/routing/test_fallback_retries.py",
            "tests/routing/test_attempt.py",
            "tests/routing/test_attempt_mutants.py",
        ),  # not test_failover.py, as for `attempt`
    ),
    "window": Target(
        "routerx.limits.window",
        (
            "tests/limits/test_window_mutants.py",
            "tests/limits/test_limiter.py",
            "tests/limits/test_shared.py",
        ),
    ),
    "chat-front": Target(
        "routerx.gateway.fronts.chat",
        (
            "tests/gateway/test_chat_front.py",
            "tests/gateway/test_pipeline_seam.py",
            "tests/gateway/test_openai_sdk.py",
        ),
    ),
    "messages-stream": Target(
        "routerx.gateway.fronts.messages.stream",
        ("tests/fronts/test_messages_answers.py", "tests/fronts/test_messages_stream.py"),
    ),
    "responses-stream": Target(
        "routerx.gateway.fronts.responses.stream",
        ("tests/fronts/test_responses_answer.py", "tests/fronts/test_responses_stream.py"),
    ),
    "budget-periods": Target(
        "routerx.spend.periods",
        ("tests/spend/test_periods_and_webhook.py", "tests/spend/test_admin_spend.py"),
    ),
    "budget-ledger": Target(
        "routerx.spend.ledger",
        (
            "tests/spend/test_ledger.py",
            "tests/spend/test_shared_store.py",
            "tests/spend/test_budgets_gateway.py",
            "tests/spend/test_budgets_shared.py",
        ),
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
# Imported once by the runner so that each forked test run starts warm (never RouterX itself).
PRELOADED = (
    "pytest",
    "pytest_asyncio",
    "pytest_timeout",
    "msgspec",
    "pydantic",
    "openai",
    "anthropic",
    "aiohttp",
    "asyncpg",
    "redis.asyncio",
    "starlette.applications",
    "hypercorn.asyncio",
    "tortoise",
    "httpx2",
    "opentelemetry.sdk.trace",
)


@dataclass(frozen=True)
class Mutant:
    index: int  # position of the mutated node in ast.walk order
    variant: str
    line: int
    description: str


@dataclass
class Result:
    number: int  # as `--list` shows it
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


_ENUMS_OF_MODULE = """
import enum, importlib, json, sys
module = importlib.import_module(sys.argv[1])
classes, aliases_by_enum = {}, {}
for name, value in vars(module).items():
    if isinstance(value, type) and issubclass(value, enum.Enum):
        if value.__module__.startswith("routerx."):
            classes[name] = [member.name for member in value]
    elif isinstance(value, enum.Enum):
        aliases_by_enum.setdefault(type(value), []).append(name)
print(json.dumps([classes, list(aliases_by_enum.values())]))
"""


def _enum_siblings(module_name: str) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """RouterX enum classes the module defines or imports (member names by class) and
    module-level aliases of members (alias names by the alias, siblings being the other aliases
    of the same enum). Imported ones count: `Outcome.SUCCESS` recorded as `Outcome.NEUTRAL` in
    the fallback loop is exactly the kind of slip the tests must catch.

    Asked of a separate interpreter: the runner itself must never import RouterX, or the forked
    test runs would inherit the unmutated modules."""
    found = subprocess.run(  # noqa: S603 (our own interpreter, fixed code)
        [sys.executable, "-c", _ENUMS_OF_MODULE, module_name],
        env=dict(os.environ, PYTHONPATH=str(BACKEND / "src")),
        capture_output=True,
        text=True,
        check=True,
    )
    classes, alias_groups = json.loads(found.stdout)
    aliases: dict[str, list[str]] = {}
    for names in alias_groups:
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
        """Runs the target's tests in a forked child of this (preloaded) process."""
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            code = 3
            try:
                code = self._pytest_in_child(target, timeout_s)
            finally:
                os._exit(code)
        while True:
            finished, status = os.waitpid(pid, os.WNOHANG)
            if finished:
                break
            if time.monotonic() - started > timeout_s:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)  # the child and any server it started
                os.waitpid(pid, 0)
                return "timeout", time.monotonic() - started
            time.sleep(0.02)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)  # a server a test left behind
        outcome = "survived" if os.waitstatus_to_exitcode(status) == 0 else "killed"
        return outcome, time.monotonic() - started

    def _pytest_in_child(self, target: Target, timeout_s: float) -> int:
        os.setpgid(0, 0)
        src = str(self.root / "src")
        # The servers some tests start import the scratch copy too.
        os.environ.update(PYTHONPATH=src, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
        # Bytecode is cached (`write` drops the mutated package's), or every run would compile
        # all of RouterX again.
        sys.dont_write_bytecode = False
        sys.path[:] = [src, *(p for p in sys.path if Path(p or ".").resolve() != BACKEND / "src")]
        importlib.invalidate_caches()
        os.chdir(BACKEND)
        quiet = os.open(os.devnull, os.O_RDWR)
        for stream in (0, 1, 2):
            os.dup2(quiet, stream)
        import pytest

        arguments = ["-x", "-q", "-p", "no:cacheprovider", "-p", "asyncio", "-p", "pytest_timeout"]
        return int(pytest.main([*arguments, "--timeout", str(int(timeout_s)), *target.tests]))

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def selected(
    mutants: list[Mutant], limit: int | None, only: set[int] | None
) -> list[tuple[int, Mutant]]:
    """(number, mutant) pairs, numbered as `--list` shows them."""
    numbered = list(enumerate(mutants))
    if only is not None:
        numbered = [(number, mutant) for number, mutant in numbered if number in only]
    return numbered[:limit]


def run_module(
    name: str, target: Target, scratch: Scratch, limit: int | None, only: set[int] | None
) -> ModuleReport:
    source = (BACKEND / target.path).read_text()
    tree = ast.parse(source)
    mutants = selected(enumerate_mutants(tree, target.module), limit, only)
    report = ModuleReport(name)
    for _ in range(3):  # a test that is flaky on a loaded machine gets two more chances here
        outcome, baseline_s = scratch.run_tests(target, timeout_s=900)
        if outcome == "survived":
            break
    if outcome != "survived":
        raise SystemExit(f"{name}: the related tests fail without any mutant; fix them first")
    scratch.write(target, source + "\nraise RuntimeError('mutation sanity check')\n")
    sanity, _ = scratch.run_tests(target, timeout_s=900)
    if sanity == "survived":
        raise SystemExit(f"{name}: the tests do not import the scratch copy; nothing would count")
    # Generous: on a loaded machine a passing run must not be taken for a hang (and killed).
    timeout_s = baseline_s * 3 + 60
    print(f"{name}: {len(mutants)} mutants, baseline {baseline_s:.1f} s", flush=True)
    try:
        for done, (number, mutant) in enumerate(mutants, 1):
            scratch.write(target, apply(tree, mutant))
            outcome, seconds = scratch.run_tests(target, timeout_s)
            report.results.append(Result(number, mutant, outcome, seconds))
            mark = {"killed": ".", "timeout": "t", "survived": "S"}[outcome]
            print(mark, end="" if done % 60 else "\n", flush=True)
    finally:
        scratch.restore(target)
    print()
    return report


def survivors(report: ModuleReport) -> Iterator[str]:
    for result in report.results:
        if result.outcome == "survived":
            mutant = result.mutant
            where = f"{TARGETS[report.name].path}:{mutant.line}"
            yield f"  #{result.number} {where}: {mutant.description}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--module", action="append", choices=sorted(TARGETS), help="repeatable")
    parser.add_argument("--limit", type=int, help="at most this many mutants per module")
    parser.add_argument(
        "--only",
        type=lambda text: {int(number) for number in text.split(",")},
        help="only these mutants (numbers as --list shows them), e.g. to recheck survivors",
    )
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument("--json", type=Path, help="write the full report here")
    args = parser.parse_args()
    names = args.module or list(TARGETS)
    if args.list:
        for name in names:
            target = TARGETS[name]
            tree = ast.parse((BACKEND / target.path).read_text())
            for number, mutant in selected(
                enumerate_mutants(tree, target.module), args.limit, args.only
            ):
                print(f"{name} #{number} {target.path}:{mutant.line}: {mutant.description}")
        return 0
    for preloaded in PRELOADED:
        with contextlib.suppress(ImportError):
            importlib.import_module(preloaded)
    scratch = Scratch()
    reports: list[ModuleReport] = []
    try:
        for name in names:
            reports.append(run_module(name, TARGETS[name], scratch, args.limit, args.only))
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
                                "number": r.number,
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
