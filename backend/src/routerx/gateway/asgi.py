"""The ASGI entry point hypercorn workers import: `routerx.gateway.asgi:app`."""

from routerx.gateway import hypercorn_fix
from routerx.gateway.app import build_app
from routerx.settings import get_settings
from routerx.telemetry.logging import configure_logging

hypercorn_fix.apply()
settings = get_settings()
configure_logging(settings.log_level)
app = build_app(settings)
