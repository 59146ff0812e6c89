"""`routerx config validate | diff | apply | export | schema | import-litellm`.

Exit codes: 0 success (for `diff`: nothing to change), 1 `diff` found changes, 2 the file or the
database refused.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TextIO

from routerx.config_file.loader import ConfigFileError, load_file, load_text
from routerx.config_file.plan import Plan
from routerx.config_file.schema import json_schema
from routerx.settings import Settings

CHANGES_FOUND = 1
REFUSED = 2


def add_parser(commands: Any) -> None:
    config = commands.add_parser("config", help="configuration as code: validate, diff, apply...")
    actions = config.add_subparsers(dest="config_command", required=True)
    validate = actions.add_parser("validate", help="check a file: schema and cross-references")
    validate.add_argument("file")
    diff = actions.add_parser("diff", help="what apply would create, change and delete")
    diff.add_argument("file")
    diff.add_argument("--prune", action="store_true", help="also list what the file leaves out")
    apply = actions.add_parser("apply", help="apply a file in one transaction")
    apply.add_argument("file")
    apply.add_argument(
        "--prune", action="store_true", help="delete everything the file does not list"
    )
    export = actions.add_parser("export", help="write the database's configuration as a file")
    export.add_argument("-o", "--output", help="file to write (default: standard output)")
    export.add_argument("--json", action="store_true", help="JSON instead of YAML")
    actions.add_parser("schema", help="print the file's JSON Schema")
    litellm = actions.add_parser(
        "import-litellm", help="turn a LiteLLM proxy config.yaml into a RouterX file"
    )
    litellm.add_argument("file")
    litellm.add_argument("-o", "--output", help="file to write (default: standard output)")


def _print_plan(plan: Plan, out: TextIO) -> None:
    for change in plan.changes:
        print(change.render(), file=out)
    if plan.adopted:
        print(f"  {len(plan.adopted)} unchanged resources become managed by this file", file=out)
    if plan.empty:
        print("no changes", file=out)


def _with_database(settings: Settings, work: Callable[[], Awaitable[int]]) -> int:
    from tortoise import Tortoise

    from routerx.storage.db import init_db

    async def run() -> int:
        await init_db(settings.database_url)
        try:
            return await work()
        finally:
            await Tortoise.close_connections()

    return asyncio.run(run())


def _write(text: str, output: str | None) -> None:
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def _diff(settings: Settings, path: str, prune: bool) -> int:
    from routerx.config_file.plan import make_plan
    from routerx.config_file.state import read_current

    loaded = load_file(path)

    async def work() -> int:
        plan = make_plan(loaded, await read_current(), prune)
        _print_plan(plan, sys.stdout)
        return 0 if plan.empty else CHANGES_FOUND

    return _with_database(settings, work)


def _user() -> str:
    try:
        return getpass.getuser()[:40]
    except (KeyError, OSError):  # a container user without a passwd entry
        return "unknown"


def _apply(settings: Settings, path: str, prune: bool) -> int:
    from routerx.config_file.apply import apply_file

    loaded = load_file(path)
    actor = f"config-file:{_user()}"

    async def work() -> int:
        result = await apply_file(loaded, actor=actor, prune=prune)
        _print_plan(result.plan, sys.stdout)
        if result.config_version is not None:
            print(
                f"applied {loaded.label} (sha256:{loaded.digest[:12]}), "
                f"configuration version {result.config_version}"
            )
        if result.generated:
            print("\nNew API keys, shown this once: store them now.")
            for key in result.generated:
                print(f"  {key.tenant}/{key.name}: {key.key}")
        return 0

    return _with_database(settings, work)


def _export(settings: Settings, output: str | None, as_json: bool) -> int:
    from routerx.config_file.export import export_document, render_yaml
    from routerx.config_file.schema import plain

    async def work() -> int:
        exported = await export_document()
        if as_json:
            text = json.dumps(plain(exported.document), indent=2) + "\n"
        else:
            text = render_yaml(exported.document)
        _write(text, output)
        for note in exported.notes:
            print(f"note: {note}", file=sys.stderr)
        return 0

    return _with_database(settings, work)


def _import_litellm(path: str, output: str | None) -> int:
    from routerx.config_file.export import render_yaml
    from routerx.config_file.litellm import import_litellm_file

    imported = import_litellm_file(path)
    text = render_yaml(imported.document)
    _write(text, output)
    for note in imported.unmapped:
        print(f"not mapped: {note}", file=sys.stderr)
    try:
        load_text(text, output or "routerx.yaml")
    except ConfigFileError as exc:  # e.g. a fallback target lacking a capability: fix by hand
        print(f"the result needs editing before it applies:\n{exc}", file=sys.stderr)
        return REFUSED
    return 0


def run(args: argparse.Namespace, settings: Settings) -> int:
    command = args.config_command
    try:
        if command == "schema":
            print(json.dumps(json_schema(), indent=2))
            return 0
        if command == "validate":
            loaded = load_file(args.file)
            document = loaded.document
            print(
                f"{args.file}: valid ({len(document.providers)} providers, "
                f"{len(document.rules)} rules, {len(document.tenants)} tenants)"
            )
            return 0
        if command == "diff":
            return _diff(settings, args.file, args.prune)
        if command == "apply":
            return _apply(settings, args.file, args.prune)
        if command == "export":
            return _export(settings, args.output, args.json)
        return _import_litellm(args.file, args.output)
    except ConfigFileError as exc:
        print(str(exc), file=sys.stderr)
        return REFUSED
