"""Liveness with a database check, for probes and the console's status light."""

from __future__ import annotations

import msgspec

from routerx.admin.endpoint import Call
from routerx.admin.errors import ApiError
from routerx.storage.config_version import current_config_version


class Health(msgspec.Struct):
    status: str
    config_version: int


async def healthz(_call: Call) -> Health:
    try:
        config_version = await current_config_version()
    except Exception:  # any database failure means "unhealthy": a 503, never a 500 page
        raise ApiError(
            503, "The database is not reachable.", None, "database_unavailable"
        ) from None
    return Health("ok", config_version)
