"""The admin API: a Starlette app of its own, on its own port (ADMIN_PORT, default 8081).

Lifespan: open the app's database context, run the production guard, apply CONFIG_FILE (and
again on SIGHUP), and on shutdown close the gateway client, the throttle's Redis connection and
the database. The schema must already be migrated (`routerx migrate`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import msgspec
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware

from routerx.admin.database import DatabaseScope, DatabaseScopeMiddleware
from routerx.admin.endpoint import routes
from routerx.admin.errors import (
    ApiError,
    handle_api_error,
    handle_http_exception,
    handle_unexpected,
)
from routerx.admin.openapi import build_openapi, package_version
from routerx.admin.routes import ENDPOINTS
from routerx.admin.services import AdminServices
from routerx.config_file.service import apply_at_start, reload_on_sighup
from routerx.core.production_guard import check_production
from routerx.settings import Settings, get_settings


def build_admin_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    document = msgspec.json.encode(build_openapi(ENDPOINTS, package_version()))
    services = AdminServices.create(settings, document)
    database = DatabaseScope(settings.database_url)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await database.open()
        try:
            with database.active():
                await check_production(settings)
                if settings.config_file:
                    await apply_at_start(settings.config_file)
            if settings.config_file:
                with reload_on_sighup(settings.config_file, database.active):
                    yield
            else:
                yield
        finally:
            await services.close()
            await database.close()

    return Starlette(
        routes=routes(ENDPOINTS, services),
        middleware=[Middleware(DatabaseScopeMiddleware, database=database)],
        exception_handlers={
            ApiError: handle_api_error,
            HTTPException: handle_http_exception,
            Exception: handle_unexpected,
        },
        lifespan=lifespan,
    )
