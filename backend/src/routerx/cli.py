"""routerx gateway | admin | migrate | seed | create-admin | config | local-secrets"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import logging
import os
import shutil
import sys
import tempfile

from routerx.config_file import commands as config_commands
from routerx.settings import Settings, SettingsError, get_settings
from routerx.telemetry.logging import configure_logging


def _prepare_multiprocess_metrics(workers: int) -> None:
    """Several workers: each writes its metrics to files in one fresh directory, which
    /metrics aggregates. Set before the workers start, since prometheus_client reads it at
    import; removed again when the server exits."""
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        directory = tempfile.mkdtemp(prefix="routerx-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
        atexit.register(shutil.rmtree, directory, ignore_errors=True)


def _bind_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _serve(
    settings: Settings,
    application_path: str,
    binds: list[tuple[str, int]],
    workers: int,
) -> None:
    from hypercorn.config import Config
    from hypercorn.run import run

    from routerx.gateway import hypercorn_fix

    hypercorn_fix.apply()
    _prepare_multiprocess_metrics(workers)
    config = Config()
    config.application_path = application_path
    config.bind = [_bind_address(host, port) for host, port in binds]
    # One worker runs in this process (workers=0 in hypercorn's terms): no extra process.
    config.workers = 0 if workers == 1 else workers
    config.worker_class = "uvloop"
    config.accesslog = None
    config.include_server_header = False
    config.errorlog = logging.getLogger("hypercorn.error")
    config.graceful_timeout = 20.0
    config.keep_alive_timeout = 75.0
    config.loglevel = settings.log_level
    run(config)


def _migrate(settings: Settings) -> None:
    from routerx.storage.migrate import apply_migrations

    asyncio.run(apply_migrations(settings.database_url))
    print("migrations applied")


def _seed(settings: Settings) -> None:
    from tortoise import Tortoise

    from routerx.storage.db import init_db
    from routerx.storage.seed import seed_demo_data

    async def run() -> list[str]:
        await init_db(settings.database_url)
        try:
            return await seed_demo_data()
        finally:
            await Tortoise.close_connections()

    created = asyncio.run(run())
    print("seeded: " + (", ".join(created) if created else "nothing new (already seeded)"))


def _create_admin(settings: Settings, username: str) -> int:
    """Password from ROUTERX_ADMIN_PASSWORD, or asked for on the terminal (never an argument,
    which would land in shell history and process listings)."""
    import getpass

    from tortoise import Tortoise

    from routerx.admin.users import upsert_admin
    from routerx.auth.passwords import password_problem
    from routerx.storage.db import init_db

    password = os.environ.get("ROUTERX_ADMIN_PASSWORD") or getpass.getpass("New password: ")
    problem = password_problem(password, username)
    if problem is not None:
        print(f"routerx: {problem}", file=sys.stderr)
        return 2

    async def run() -> bool:
        await init_db(settings.database_url)
        try:
            return await upsert_admin(username, password)
        finally:
            await Tortoise.close_connections()

    created = asyncio.run(run())
    print(f"admin user {username!r} {'created' if created else 'updated'}")
    return 0


def _local_secrets(settings: Settings) -> None:
    """Shell `export` lines for `make run` (values are hex, safe to evaluate)."""
    from routerx.core.local_secrets import local_secrets

    for name, value in local_secrets(settings).items():
        print(f"export {name}={value}")


def _load_prices(settings: Settings, path: str) -> int:
    from routerx.spend.price_cli import load_prices_file

    return load_prices_file(settings, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="routerx", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("gateway", help="serve the OpenAI-compatible gateway")
    commands.add_parser("admin", help="serve the admin REST API")
    commands.add_parser("migrate", help="apply database migrations")
    commands.add_parser("seed", help="create the demo data (idempotent)")
    create_admin = commands.add_parser(
        "create-admin", help="create or reset an admin user (password from ROUTERX_ADMIN_PASSWORD)"
    )
    create_admin.add_argument("--username", default="admin")
    config_commands.add_parser(commands)
    commands.add_parser(
        "local-secrets",
        help="print exports for secrets that are unset or examples, generated once into data/",
    )
    prices = commands.add_parser("prices", help="price tables")
    prices_commands = prices.add_subparsers(dest="prices_command", required=True)
    load = prices_commands.add_parser(
        "load", help="load a price table (RouterX catalog JSON or LiteLLM's price map)"
    )
    load.add_argument("file")
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
    except SettingsError as exc:
        print(f"routerx: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    if args.command == "gateway":
        binds = [(settings.gateway_host, settings.gateway_port)]
        if settings.internal_port:
            binds.append((settings.internal_host, settings.internal_port))
        _serve(settings, "routerx.gateway.asgi:app", binds, settings.gateway_workers)
    elif args.command == "admin":
        _serve(settings, "routerx.admin.asgi:app", [(settings.admin_host, settings.admin_port)], 1)
    elif args.command == "migrate":
        _migrate(settings)
    elif args.command == "create-admin":
        return _create_admin(settings, args.username)
    elif args.command == "config":
        return config_commands.run(args, settings)
    elif args.command == "local-secrets":
        _local_secrets(settings)
    elif args.command == "prices":
        return _load_prices(settings, args.file)
    else:
        _seed(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
