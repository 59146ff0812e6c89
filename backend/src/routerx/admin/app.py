"""The admin API: a Starlette app of its own, on its own port (ADMIN_PORT, default 8081).

Lifespan: open the app's database context, run the production guard, and on shutdown close the
gateway client, the throttle's Redis connection and the database. The schema must already be
migrated (`routerx migrate`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

import msgspec
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from routerx.admin.database import DatabaseScope, DatabaseScopeMiddleware
from routerx.admin.endpoint import routes
from routerx.admin.errors import (
    ApiError,
    handle_api_error,
    handle_http_exception,
    handle_unexpected,
)
from routerx.admin.guard import check_production
from routerx.admin.openapi import build_openapi
from routerx.admin.routes import ENDPOINTS
from routerx.admin.services import AdminServices
from routerx.settings import Settings, get_settings
from routerx.storage.config_version import current_config_version


def _package_version() -> str:
    try:
        return version("routerx")
    except PackageNotFoundError:
        return "0.0.0"


class Health(msgspec.Struct):
    status: str
    config_version: int


async def healthz(_request: Request) -> Response:
    try:
        config_version = await current_config_version()
    except Exception:  # any database failure means "not healthy", never a 500 page
        return ApiError(
            503, "The database is not reachable.", None, "database_unavailable"
        ).response()
    return Response(
        msgspec.json.encode(Health("ok", config_version)), media_type="application/json"
    )


def build_admin_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    services = AdminServices.create(settings)
    database = DatabaseScope(settings.database_url)
    openapi_body = msgspec.json.encode(build_openapi(ENDPOINTS, _package_version()))

    async def openapi(_request: Request) -> Response:
        return Response(openapi_body, media_type="application/json")

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await database.open()
        try:
            with database.active():
                await check_production(settings)
            yield
        finally:
            await services.close()
            await database.close()

    table = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        *routes(ENDPOINTS, services),
    ]
    return Starlette(
        routes=table,
        middleware=[Middleware(DatabaseScopeMiddleware, database=database)],
        exception_handlers={
            ApiError: handle_api_error,
            HTTPException: handle_http_exception,
            Exception: handle_unexpected,
        },
        lifespan=lifespan,
    )
