"""The servers the benchmark measures: the mock upstream alone ("direct"), the bare pass-through
on RouterX's stack in front of it ("floor", floor_app.py), RouterX with its full production path
in front of it, and the LiteLLM proxy in front of it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .install import BENCH_DIR
from .processes import Service, Services, free_port, start, wait_http

MODEL = "bench-model"
UPSTREAM_MODEL = "bench-upstream"
ROUTERX_KEY = "demo_key_fake_123456"  # the seed's demo key
LITELLM_KEY = "sk-bench-master-key"  # a local benchmark's master key
FLOOR_KEY = "sk-bench-floor-key"  # a local benchmark's key
FLOOR_APP = Path(__file__).resolve().parent / "floor_app.py"
HYPERCORN = str(Path(sys.executable).parent / "hypercorn")
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
BENCH_DATABASE = "routerx_bench"
REDIS_URL = "redis://127.0.0.1:6379/15"
ROUTERX = str(Path(sys.executable).parent / "routerx")
READY_TIMEOUT_S = 300.0


@dataclass(frozen=True, slots=True)
class Target:
    """A server under test: where to send requests, with which key, and which process tree."""

    name: str
    url: str
    api_key: str
    service: Service

    @property
    def pid(self) -> int:
        return self.service.pid


def start_mock(binary: Path, services: Services) -> Target:
    port = free_port()
    service = services.add(start("mock-upstream", [str(binary), str(port)], BENCH_DIR))
    base = f"http://127.0.0.1:{port}"
    wait_http(service, base + "/healthz", 10.0, frozenset({200}))
    return Target("direct", base + "/v1/chat/completions", "", service)


# The floor ---------------------------------------------------------------------------------


def floor_argv(port: int, workers: int) -> list[str]:
    """hypercorn's own command line, as a user would type it (uvloop workers, no access log)."""
    bind = f"127.0.0.1:{port}"
    return [HYPERCORN, "-k", "uvloop", "-w", str(workers), "-b", bind, f"{FLOOR_APP}:app"]


def start_floor(upstream: Target, services: Services, workers: int = 2) -> Target:
    port = free_port()
    env = dict(os.environ)
    env.update(
        FLOOR_UPSTREAM_URL=upstream.url,
        FLOOR_API_KEY=FLOOR_KEY,
        FLOOR_UPSTREAM_MODEL=UPSTREAM_MODEL,
    )
    service = services.add(start("floor", floor_argv(port, workers), BENCH_DIR, env, BENCH_DIR))
    base = f"http://127.0.0.1:{port}"
    wait_http(service, base + "/healthz", READY_TIMEOUT_S, frozenset({200}))
    return Target("floor", base + "/v1/chat/completions", FLOOR_KEY, service)


# RouterX -----------------------------------------------------------------------------------


def routerx_database_url(kind: str) -> str:
    if kind == "sqlite":
        return f"sqlite://{BENCH_DIR / 'routerx-bench.sqlite3'}"
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + BENCH_DATABASE


async def _recreate_pg_database() -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
    finally:
        await conn.close()


async def _drop_pg_database() -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
    finally:
        await conn.close()


def fresh_database(kind: str) -> str:
    url = routerx_database_url(kind)
    if kind == "sqlite":
        Path(url.removeprefix("sqlite://")).unlink(missing_ok=True)
    else:
        asyncio.run(_recreate_pg_database())
    return url


def drop_database(kind: str) -> None:
    if kind == "sqlite":
        Path(routerx_database_url(kind).removeprefix("sqlite://")).unlink(missing_ok=True)
    else:
        asyncio.run(_drop_pg_database())


async def _configure_routes(database_url: str, upstream_base: str, budgets: bool = False) -> None:
    """A production-like rule: the mock as primary, the mock again as a tier-1 fallback."""
    from tortoise import Tortoise

    from routerx.storage.config_version import bump_config_version
    from routerx.storage.db import init_db
    from routerx.storage.models import Provider, RoutingRule, Tenant

    await init_db(database_url)
    try:
        for name in ("bench-upstream", "bench-upstream-backup"):
            await Provider.create(
                name=name,
                type="openai_compatible",
                base_url=upstream_base + "/v1",
                capabilities=["text", "vision", "tools", "json"],
                settings={},
            )
        await RoutingRule.create(
            name="bench",
            model_pattern=MODEL,
            capability="text",
            targets=[
                {"provider": "bench-upstream", "model": UPSTREAM_MODEL, "weight": 1, "tier": 0},
                {
                    "provider": "bench-upstream-backup",
                    "model": UPSTREAM_MODEL,
                    "weight": 1,
                    "tier": 1,
                },
            ],
        )
        tenant = await Tenant.get(name="demo")
        tenant.allowed_models = [*(tenant.allowed_models or []), MODEL]
        await tenant.save()
        if budgets:
            await _budgets(tenant.id)
        await bump_config_version()
    finally:
        await Tortoise.close_connections()


async def _budgets(tenant_id: int) -> None:
    """The mock priced as gpt-4.1-mini, and budgets no run exhausts on the tenant and its key:
    every request then pays for admission, reservation and settlement on two accounts."""
    from routerx.storage.models import ApiKey, Budget, PriceOverride

    await PriceOverride.create(
        provider="*", model=UPSTREAM_MODEL, prices={"input": "0.40", "output": "1.60"}
    )
    key = await ApiKey.filter(tenant_id=tenant_id).first()
    subjects = [("tenant", tenant_id)] + ([("key", key.id)] if key is not None else [])
    for scope, subject in subjects:
        await Budget.create(
            scope=scope,
            subject_id=subject,
            amount_pico=999_999 * 10**12,
            period="month",
            thresholds=[50, 80, 100],
        )


def routerx_env(database_url: str, port: int, workers: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROUTERX_", "GATEWAY_"))}
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=REDIS_URL,
        ENABLE_REAL_CALLS="true",
        GATEWAY_WORKERS=str(workers),
        GATEWAY_HOST="127.0.0.1",
        GATEWAY_PORT=str(port),
        JWT_SECRET="bench-secret-not-the-example",  # noqa: S106 - local only
        LOG_LEVEL="WARNING",
    )
    return env


def start_routerx(
    database_kind: str,
    upstream: Target,
    services: Services,
    workers: int = 2,
    budgets: bool = False,
) -> Target:
    """Migrate and seed a fresh database, route `bench-model` to the mock, start the gateway."""
    database_url = fresh_database(database_kind)
    port = free_port()
    env = routerx_env(database_url, port, workers)
    for command in ("migrate", "seed"):
        subprocess.run(  # noqa: S603
            [ROUTERX, command], env=env, cwd=BENCH_DIR, check=True, capture_output=True
        )
    upstream_base = upstream.url.removesuffix("/v1/chat/completions")
    asyncio.run(_configure_routes(database_url, upstream_base, budgets))
    service = services.add(start("routerx", [ROUTERX, "gateway"], BENCH_DIR, env, BENCH_DIR))
    base = f"http://127.0.0.1:{port}"
    wait_http(service, base + "/readyz", READY_TIMEOUT_S, frozenset({200}))
    return Target("routerx", base + "/v1/chat/completions", ROUTERX_KEY, service)


# LiteLLM -----------------------------------------------------------------------------------


def litellm_config(upstream_base: str) -> str:
    """Its documented production settings, minus the database: no spend or error logs, no
    verbose logging, no message logging, a local model cost map."""
    return f"""model_list:
  - model_name: {MODEL}
    litellm_params:
      model: openai/{UPSTREAM_MODEL}
      api_base: {upstream_base}/v1
      api_key: sk-fake-upstream-key

litellm_settings:
  set_verbose: false
  json_logs: true
  turn_off_message_logging: true
  request_timeout: 600
  telemetry: false

general_settings:
  master_key: {LITELLM_KEY}
  disable_spend_logs: true
  disable_error_logs: true
  proxy_batch_write_at: 60
"""


def start_litellm(litellm: Path, upstream: Target, services: Services, workers: int = 2) -> Target:
    port = free_port()
    config = BENCH_DIR / "litellm-config.yaml"
    config.write_text(litellm_config(upstream.url.removesuffix("/v1/chat/completions")))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "LITELLM"))}
    env.update(
        LITELLM_LOG="ERROR",
        LITELLM_LOCAL_MODEL_COST_MAP="True",  # no download of the cost map at start-up
        NO_DOCS="True",
        DISABLE_ADMIN_UI="True",
    )
    argv = [
        str(litellm),
        "--config",
        str(config),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--num_workers",
        str(workers),
        # uvicorn restarts a worker that has not answered its health check within 5 s; LiteLLM
        # takes longer than that to import on a busy 2-core machine, and would never come up.
        "--timeout_worker_healthcheck",
        "120",
    ]
    service = services.add(start("litellm", argv, BENCH_DIR, env, BENCH_DIR))
    base = f"http://127.0.0.1:{port}"
    wait_http(service, base + "/health/liveliness", READY_TIMEOUT_S, frozenset({200}))
    return Target("litellm", base + "/v1/chat/completions", LITELLM_KEY, service)
